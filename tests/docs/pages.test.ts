import { describe, expect, it } from "vitest";
import { createDocsApp } from "../../functions/docs/app";
import { createRouter } from "../../lib/create-app";
import { createHarness, expectError } from "../support/harness";
import { operations } from "./openapi-helpers";

const h = await createHarness();

describe("GET /docs", () => {
  it("is an HTML page that loads Scalar from our own origin, never a CDN", async () => {
    const r = await h.call("GET", "/docs");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.text).toContain("<title>Parley API reference</title>");
    expect(r.text).toMatch(/<script src="\/docs\/scalar\.js(\?[^"]*)?"><\/script>/);
    expect(r.text).toContain('"url":"/openapi.json"');
    expect(r.text).toContain('"withDefaultFonts":false');
    // Nothing on the page is loaded from elsewhere.
    expect(r.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(r.text).not.toMatch(/cdn\.|jsdelivr|unpkg/);
    const csp = r.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(r.text).toContain(`<script nonce="${nonce}">`);
  });

  it("needs no credentials, also under a trailing slash", async () => {
    expect((await h.call("GET", "/docs/")).status).toBe(200);
  });
});

describe("GET /docs/scalar.js", () => {
  it("serves Scalar's standalone bundle as JavaScript with a long cache and an ETag", async () => {
    const r = await h.dispatch(new Request("http://127.0.0.1:8787/docs/scalar.js"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(r.headers.get("cache-control")).toMatch(/max-age=\d{6,}/);
    const etag = r.headers.get("etag");
    expect(etag).toBeTruthy();
    const js = await r.text();
    expect(js.length).toBeGreaterThan(1_000_000);
    expect(js).toContain("createApiReference");

    const again = await h.dispatch(new Request("http://127.0.0.1:8787/docs/scalar.js", { headers: { "if-none-match": etag! } }));
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("is gzipped for clients that accept it", async () => {
    const r = await h.dispatch(new Request("http://127.0.0.1:8787/docs/scalar.js", { headers: { "accept-encoding": "gzip, br" } }));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-encoding")).toBe("gzip");
    const size = (await r.arrayBuffer()).byteLength;
    expect(size).toBeGreaterThan(100_000);
    expect(size).toBeLessThan(2_000_000);
  });

  it("prefers the Workers ASSETS binding when there is one", async () => {
    const app = createDocsApp(async () => []);
    const seen: string[] = [];
    const ASSETS = {
      fetch: async (req: Request | string) => {
        seen.push(new URL(typeof req === "string" ? req : req.url).pathname);
        return new Response("/* from assets */", { headers: { "content-type": "application/octet-stream", etag: '"a1"' } });
      },
    };
    const r = await app.fetch(new Request("https://api.parley.example/docs/scalar.js?v=1"), { PARLEY_SERVICES: h.services.provider, ASSETS });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("/* from assets */");
    expect(r.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(r.headers.get("etag")).toBe('"a1"');
    expect(seen).toEqual(["/docs/scalar.js"]);
  });

  it("answers 404 in the error shape when no asset source is bound", async () => {
    const app = createDocsApp(async () => []);
    const r = await app.fetch(new Request("http://x/docs/scalar.js"), { PARLEY_SERVICES: h.services.provider });
    const body: any = await r.json();
    expect(r.status).toBe(404);
    expect(body.error.code).toBe("not_found");
  });
});

describe("GET /llms.txt", () => {
  it("lists every operation of the document with its auth", async () => {
    const r = await h.call("GET", "/llms.txt");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/^# Parley API\n\n> /);
    const doc = (await h.call("GET", "/openapi.json")).body;
    for (const { method, path } of operations(doc)) {
      expect(r.text, `${method} ${path}`).toContain(`### ${method.toUpperCase()} ${path}\n`);
    }
    const signUp = r.text.split("### POST /v1/workspaces\n")[1]!.split("\n### ")[0]!;
    expect(signUp).toContain("- Auth: public");
    expect(signUp).toContain("owner.email (string, required)");
    expect(signUp).toMatch(/- Returns: 201 SignUpResult/);
    expect(signUp).toMatch(/- Errors: .*409/);
  });

  it("says which endpoints need credentials", async () => {
    const r = await h.call("GET", "/llms.txt");
    const keys = r.text.split("### GET /v1/api-keys\n")[1]!.split("\n### ")[0]!;
    expect(keys).toContain("- Auth: Bearer JWT or API key | X-API-Key | session cookie");
    expect(keys).toMatch(/- query page/);
  });
});

describe("the document is merged lazily from whatever the loader gives", () => {
  it("includes the docs' own routes and the loaded apps' routes", async () => {
    const { createRoute, z } = await import("@hono/zod-openapi");
    const other = createRouter().openapi(
      createRoute({
        method: "get",
        path: "/v1/ping",
        tags: ["Health"],
        summary: "Ping",
        responses: { 200: { description: "pong", content: { "application/json": { schema: z.object({ pong: z.literal(true) }) } } } },
      }),
      (c) => c.json({ pong: true as const }, 200),
    );
    let loads = 0;
    const app = createDocsApp(async () => {
      loads++;
      return [{ name: "other", app: other }];
    });
    const env = { PARLEY_SERVICES: h.services.provider };
    const first: any = await (await app.fetch(new Request("http://x/openapi.json"), env)).json();
    await app.fetch(new Request("http://x/llms.txt"), env);
    expect(Object.keys(first.paths).sort()).toEqual(["/docs", "/docs/scalar.js", "/healthz", "/llms.txt", "/openapi.json", "/v1/ping"]);
    expect(loads).toBe(1);
  });

  it("answers 500 in the error shape, and retries later, when loading fails", async () => {
    let fail = true;
    const app = createDocsApp(async () => {
      if (fail) throw new Error("boom");
      return [];
    });
    const env = { PARLEY_SERVICES: h.services.provider };
    const r = await app.fetch(new Request("http://x/openapi.json"), env);
    expect(r.status).toBe(500);
    expect(((await r.json()) as any).error.code).toBe("internal_error");
    fail = false;
    expect((await app.fetch(new Request("http://x/openapi.json"), env)).status).toBe(200);
  });
});

describe("unknown docs paths", () => {
  it("answer 404 in the error shape", async () => {
    expectError(await h.call("GET", "/docs/nothing.js"), 404, "not_found");
  });
});
