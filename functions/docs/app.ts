// The docs function as Node runs it (`npm start`, vitest): the routes of serve.ts with the
// document merged from every function's app in the registry, so a change to a route shows at
// once. The Worker (functions/docs/index.ts) serves the same document generated at build time
// instead: importing every function's app made it the largest Worker (667 KiB gzip).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { buildDocument, type OpenApiDocument } from "./document";
import { serveDocs } from "./serve";

/** What the docs need of the registry (read lazily: the registry imports this module). */
export type FunctionsLoader = () => Promise<ReadonlyArray<{ name: string; app: OpenAPIHono<AppEnv> }>>;

// A dynamic import breaks the registry ↔ docs cycle: the registry imports this module, so a
// static import would read the registry before this module's `app` exists.
const fromRegistry: FunctionsLoader = async () => (await import("../registry")).functions;

/** The merged document of `fns` (the docs function itself, whichever its app, documented last). */
export function documentOf(fns: Awaited<ReturnType<FunctionsLoader>>, docsApp: OpenAPIHono<AppEnv>): OpenApiDocument {
  return buildDocument([...fns.filter((f) => f.name !== "docs" && f.app !== docsApp).map((f) => f.app), docsApp]);
}

/** The docs app whose document is merged, once per process, from what `loadFunctions` gives. */
export function createDocsApp(loadFunctions: FunctionsLoader = fromRegistry) {
  return serveDocs(async (docsApp) => documentOf(await loadFunctions(), docsApp));
}

export const app = createDocsApp();
