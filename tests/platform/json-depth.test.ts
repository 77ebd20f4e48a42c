// Deeply nested JSON is refused with 422 (validation_error) before any handler walks it, on
// every JSON endpoint: ~4,000 levels used to overflow the stack somewhere downstream (500).
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../lib/json-depth";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();
const nested = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

describe("JSON nesting depth", () => {
  it("answers 422 for bodies nested deeper than the limit, on metadata, contacts and capture", async () => {
    const t = await h.signUp();
    const deep = nested(4000);
    const cases: [string, string, unknown][] = [
      ["POST", "/v1/conversations", { title: "deep", source: "api", metadata: deep }],
      ["POST", "/v1/contacts", { name: "deep", attributes: deep }],
      ["POST", "/v1/sessions", { metadata: deep }],
      ["POST", "/v1/messages/capture", { messages: [{ source: "api", sender_type: "contact", content: "x", metadata: deep }] }],
      ["POST", "/v1/tags", deep],
    ];
    for (const [method, path, body] of cases) {
      const r = await h.call(method, path, { token: t.token, body });
      const err = expectError(r, 422, "validation_error");
      expect(err.details).toMatchObject({ max_depth: MAX_JSON_DEPTH });
    }
    // Arrays 100,000 deep (200 KB, under the body limit) would overflow any recursive walk.
    const raw = `{"title":"deep","source":"api","metadata":{"x":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`;
    const res = await h.dispatch(new Request("http://localhost/v1/conversations", { method: "POST", headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" }, body: raw }));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { details: unknown } }).error.details).toMatchObject({ max_depth: MAX_JSON_DEPTH });
    // A string that looks like nesting is just a string.
    const ok = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "[[[[{{{{", source: "api", metadata: { note: "[".repeat(5000) } } });
    expect(ok.status, ok.text).toBe(201);
  });

  it("accepts nesting up to the limit", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "nested", source: "api", metadata: { x: nested(MAX_JSON_DEPTH - 3) } } });
    expect(r.status, r.text).toBe(201);
  });
});
