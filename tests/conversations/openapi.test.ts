// Every conversations route is in the merged OpenAPI document, described, with examples.
import { describe, expect, it } from "vitest";
import { createHarness } from "../support/harness";

const h = await createHarness();

const ROUTES: Array<[string, string]> = [
  ["get", "/v1/conversations"],
  ["post", "/v1/conversations"],
  ["get", "/v1/conversations/{id}"],
  ["patch", "/v1/conversations/{id}"],
  ["delete", "/v1/conversations/{id}"],
  ["post", "/v1/conversations/{id}/status"],
  ["post", "/v1/conversations/{id}/assign"],
  ["get", "/v1/conversations/{id}/tags"],
  ["post", "/v1/conversations/{id}/tags"],
  ["delete", "/v1/conversations/{id}/tags/{tag}"],
  ["get", "/v1/conversations/{id}/messages"],
  ["post", "/v1/conversations/{id}/messages"],
  ["post", "/v1/messages/capture"],
];

describe("OpenAPI document", () => {
  it("lists every conversations route with a summary, error responses and body examples", async () => {
    const r = await h.call("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const text = r.text;
    for (const [method, path] of ROUTES) {
      const op = r.body.paths?.[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(op.summary).toEqual(expect.any(String));
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["401", "422", "500"]));
      if (method !== "get" && method !== "delete") expect(op.requestBody, `${method} ${path} body`).toBeDefined();
    }
    expect(text).toContain("Refund for order A-1042");
    expect(text).toContain("unread_count");
  });
});
