// The docs Worker as deployed: it serves the OpenAPI document `npm run build` generated
// (wrangler alias `parley:openapi-document`), which must be the document Node generates from the
// code, and it no longer bundles the other functions' apps to build it at runtime.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { app as docsApp, documentOf } from "../../functions/docs/app";
import { withServers } from "../../functions/docs/document";
import { renderLlmsTxt } from "../../functions/docs/llms";
import { functions } from "../../functions/registry";
import { SIZE_BUDGET_GZIP } from "../../scripts/build";
import { edgeOptions } from "../../scripts/wrangler-toml";
import { skipEdge, startWorker } from "./support";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

describe.skipIf(skipEdge)("docs in workerd", async () => {
  const w = skipEdge ? (undefined as never) : await startWorker("docs");
  const origin = `https://${edgeOptions().host}`;
  // What Node serves for the same origin (PUBLIC_BASE_URL is that origin in wrangler.toml).
  const nodeDocument = JSON.parse(JSON.stringify(withServers(documentOf(functions, docsApp), origin, origin)));

  it("serves /openapi.json equal to the document Node generates from the code", async () => {
    const r = await w.call("GET", "/openapi.json");
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.body).toEqual(nodeDocument);
    expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(["/v1/workspaces", "/v1/conversations", "/jobs/exports", "/openapi.json"]));
  });

  it("serves /llms.txt from the same document", async () => {
    const r = await w.call("GET", "/llms.txt");
    expect(r.status).toBe(200);
    expect(r.text).toBe(renderLlmsTxt(documentOf(functions, docsApp), origin));
  });

  it("serves the /docs page and Scalar's script from static assets", async () => {
    const page = await w.call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.text).toContain("<title>Parley API reference</title>");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const script = await w.call("GET", "/docs/scalar.js");
    expect(script.status).toBe(200);
    expect(script.text).toContain("createApiReference");
  });

  it("bundles no other function's code, and fits the size budget", () => {
    const meta = JSON.parse(readFileSync(join(ROOT, "dist", "docs", "bundle-meta.json"), "utf8")) as { inputs: Record<string, unknown> };
    const others = Object.keys(meta.inputs).filter((p) => p.startsWith("functions/") && !p.startsWith("functions/docs/"));
    expect(others).toEqual([]);
    expect(Object.keys(meta.inputs).some((p) => p.includes("node_modules/openai/"))).toBe(false);
    expect(Object.keys(meta.inputs)).toContain("dist/docs-build/openapi.json");
    const dir = join(ROOT, "dist", "docs");
    const gzip = readdirSync(dir)
      .filter((f) => /\.m?js$/.test(f))
      .reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
    expect(gzip).toBeLessThanOrEqual(SIZE_BUDGET_GZIP);
  });
});
