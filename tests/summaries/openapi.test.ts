// Every summaries and suggest route is in the merged OpenAPI document, described, with its
// errors and examples (bodies, parameters and success responses).
import { describe, expect, it } from "vitest";
import { hasExample } from "../docs/openapi-helpers";
import { createHarness } from "../support/harness";

const h = await createHarness();

const ROUTES: Array<[string, string]> = [
  ["post", "/v1/conversations/{id}/summaries"],
  ["get", "/v1/conversations/{id}/summaries"],
  ["get", "/v1/summaries/{id}"],
  ["get", "/v1/conversations/{id}/suggest"],
  ["get", "/v1/ai-suggest"],
  ["post", "/jobs/summaries"],
];

describe("OpenAPI document", () => {
  it("lists every summaries and suggest route with a summary, a description, errors and examples", async () => {
    const r = await h.call("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.body;
    for (const [method, path] of ROUTES) {
      const what = `${method.toUpperCase()} ${path}`;
      const op = doc.paths?.[path]?.[method];
      expect(op, what).toBeDefined();
      expect(op.summary, what).toEqual(expect.any(String));
      expect(op.description, what).toEqual(expect.any(String));
      expect(Object.keys(op.responses), what).toEqual(expect.arrayContaining(path.startsWith("/jobs") ? ["200", "401", "489"] : ["401", "404", "422", "503"]));
      for (const p of op.parameters ?? []) {
        if (p.in === "header") continue;
        // An optional query parameter's example is in its description (/docs would send it ticked).
        if (p.in === "query" && !p.required) expect(p.schema?.default !== undefined || /Example: `/.test(p.description ?? ""), `${what} ${p.name}`).toBe(true);
        else expect(p.example ?? p.schema?.example, `${what} ${p.name}`).toBeDefined();
      }
      const body = op.requestBody?.content?.["application/json"]?.schema;
      if (body) expect(hasExample(doc, body), `${what} body`).toBe(true);
      for (const [status, res] of Object.entries<any>(op.responses)) {
        const schema = res.content?.["application/json"]?.schema;
        if (/^2/.test(status)) expect(schema && hasExample(doc, schema), `${what} ${status}`).toBe(true);
      }
    }
    expect(doc.paths["/v1/conversations/{id}/summaries"].post.responses["202"]).toBeDefined();
    expect(doc.paths["/v1/conversations/{id}/summaries"].post.requestBody.required).toBe(false);
    expect(doc.components.schemas.Summary.properties.result).toBeDefined();
  });
});
