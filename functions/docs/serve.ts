// The docs function's routes: /openapi.json, the interactive reference (/docs, with Scalar's
// bundle served from our own origin at /docs/scalar.js), a plain-text digest (/llms.txt) and the
// health check (/healthz). None of these is under /v1, so the auth middleware lets them through:
// they are public. Where the document comes from is the caller's choice: the Worker serves the
// one generated at build time (functions/docs/index.ts), Node builds it from the registry
// (functions/docs/app.ts). Importing this module pulls in no other function's code.
import { createRoute, z } from "@hono/zod-openapi";
import { createApp } from "../../lib/create-app";
import { ApiError, ErrorSchema } from "../../lib/errors";
import { randomToken } from "../../lib/ids";
import { type OpenApiDocument, withServers } from "./document";
import { checkHealth } from "./health";
import { renderLlmsTxt } from "./llms";
import { docsCsp, docsPage, SCALAR_SCRIPT_PATH } from "./page";
import { API_VERSION } from "./version";

/** The whole API's document without `servers` (those depend on the request). */
export type DocumentSource = (docsApp: ReturnType<typeof createApp>) => OpenApiDocument | Promise<OpenApiDocument>;

const errorContent = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

const OpenApiDoc = z
  .looseObject({
    openapi: z.string().openapi({ example: "3.1.0" }),
    info: z.looseObject({ title: z.string(), version: z.string() }).openapi({ example: { title: "Parley API", version: API_VERSION } }),
    paths: z.record(z.string(), z.unknown()),
  })
  .openapi("OpenApiDocument", { description: "An OpenAPI 3.1 document." });

const Health = z
  .object({
    status: z.literal("ok"),
    database: z.literal("ok"),
    redis: z.enum(["ok", "unavailable"]).openapi({ description: "Redis is optional: without it rate limits fail open." }),
    version: z.string(),
  })
  .openapi("Health", { example: { status: "ok", database: "ok", redis: "ok", version: API_VERSION } });

const openapiRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  tags: ["Docs"],
  summary: "The OpenAPI 3.1 document of the whole API",
  description: "Generated from the route definitions of every function, so it cannot drift from the code. `servers` names the origin you asked.",
  security: [],
  responses: {
    200: { description: "The document", content: { "application/json": { schema: OpenApiDoc } } },
    500: errorContent("The document could not be generated (`internal_error`)."),
  },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  tags: ["Docs"],
  summary: "Interactive API reference",
  description: "An HTML page (Scalar) rendering /openapi.json. Everything it loads comes from this origin; it works offline.",
  security: [],
  responses: {
    200: { description: "The reference page", content: { "text/html": { schema: z.string().openapi({ example: "<!doctype html>…" }) } } },
    500: errorContent("Unexpected error (`internal_error`)."),
  },
});

const scalarRoute = createRoute({
  method: "get",
  path: SCALAR_SCRIPT_PATH,
  operationId: "getDocsScript",
  tags: ["Docs"],
  summary: "The reference page's script",
  description: "Scalar's standalone bundle, served from this origin so /docs needs no CDN. Cached for a week; revalidate with `If-None-Match`.",
  security: [],
  responses: {
    200: { description: "JavaScript", content: { "text/javascript": { schema: z.string().openapi({ example: "(function(){…})();" }) } } },
    304: { description: "Not modified (the `If-None-Match` ETag still matches)" },
    404: errorContent("The bundle is not deployed with this server (`not_found`)."),
    500: errorContent("Unexpected error (`internal_error`)."),
  },
});

const llmsRoute = createRoute({
  method: "get",
  path: "/llms.txt",
  operationId: "getLlmsTxt",
  tags: ["Docs"],
  summary: "Plain-text digest of every endpoint (llms.txt)",
  description: "Every operation with its method, path, summary, auth, parameters, body fields and responses, generated from /openapi.json.",
  security: [],
  responses: {
    200: { description: "The digest", content: { "text/plain": { schema: z.string().openapi({ example: "# Parley API\n\n> …" }) } } },
    500: errorContent("Unexpected error (`internal_error`)."),
  },
});

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tags: ["Health"],
  summary: "Health check",
  description: "200 when the database answers `select 1`. Redis is reported but not required. 503 `service_unavailable` when the database does not answer.",
  security: [],
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: Health } } },
    503: errorContent("The database does not answer (`service_unavailable`)."),
    500: errorContent("Unexpected error (`internal_error`)."),
  },
});

const SCRIPT_CACHE = "public, max-age=604800, stale-while-revalidate=86400";
const PASSED_HEADERS = ["etag", "last-modified", "content-encoding"];

/** The docs app; `source` is asked once per isolate (again after a failure), given the app itself. */
export function serveDocs(source: DocumentSource) {
  let cached: Promise<OpenApiDocument> | undefined;
  const app = createApp();

  const documentFor = () => {
    cached ??= Promise.resolve()
      .then(() => source(app))
      .catch((err) => {
        cached = undefined; // let the next request try again
        throw err;
      });
    return cached;
  };
  const origin = (c: { req: { url: string } }) => new URL(c.req.url).origin;

  return app
    .openapi(openapiRoute, async (c) => {
      const doc = withServers(await documentFor(), origin(c), c.var.services.config.publicBaseUrl);
      // The generator's type allows `undefined` members that JSON drops; the shape is the same.
      return c.json(doc as unknown as z.infer<typeof OpenApiDoc>, 200, { "Cache-Control": "public, max-age=300" });
    })
    .openapi(docsRoute, (c) => {
      const nonce = randomToken(16);
      const base = c.var.services.config.publicBaseUrl;
      return c.html(docsPage(nonce), 200, {
        "Content-Security-Policy": docsCsp(nonce, base && base !== origin(c) ? [base] : []),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
      });
    })
    .openapi(scalarRoute, async (c) => {
      // On Workers: static assets (the build copies Scalar's bundle to
      // dist/docs-assets/docs/scalar.js, served by the ASSETS binding). In Node: DOCS_ASSETS,
      // a reader of node_modules/@scalar/api-reference/dist/browser/standalone.js
      // (lib/local/docs-assets.ts, wired in lib/local/dispatch.ts).
      const source = c.env?.ASSETS ?? c.env?.DOCS_ASSETS;
      if (!source) throw new ApiError("not_found", "The reference's script is not deployed with this server.");
      const headers = new Headers();
      for (const h of ["if-none-match", "accept-encoding"]) {
        const v = c.req.header(h);
        if (v) headers.set(h, v);
      }
      const res = await source.fetch(new Request(new URL(SCALAR_SCRIPT_PATH, c.req.url), { headers }));
      if (res.status !== 200 && res.status !== 304) {
        await res.body?.cancel();
        throw new ApiError("not_found", "The reference's script is not deployed with this server.");
      }
      const out = new Headers({ "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": SCRIPT_CACHE, Vary: "Accept-Encoding" });
      for (const h of PASSED_HEADERS) {
        const v = res.headers.get(h);
        if (v) out.set(h, v);
      }
      return new Response(res.status === 304 ? null : res.body, { status: res.status, headers: out });
    })
    .openapi(llmsRoute, async (c) => {
      return c.text(renderLlmsTxt(await documentFor(), origin(c)), 200, { "Cache-Control": "public, max-age=300" });
    })
    .openapi(healthRoute, async (c) => {
      const report = await checkHealth(c.var.services);
      if (report.database !== "ok") {
        throw new ApiError("service_unavailable", "The database does not answer.", { cause: report.databaseError });
      }
      return c.json({ status: "ok" as const, database: "ok" as const, redis: report.redis, version: API_VERSION }, 200, { "Cache-Control": "no-store" });
    });
}
