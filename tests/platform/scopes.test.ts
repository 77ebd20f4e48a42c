import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();

describe("API key scopes", () => {
  it("lets a read-only key search (a POST that only reads) but not write", async () => {
    const t = await h.signUp();
    const created = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "reader", scopes: ["read"] } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const search = await h.call("POST", "/v1/conversations/search", { headers: { "x-api-key": key }, body: { query: "refund" } });
    expect(search.status).toBe(200);
    expect(search.body.data).toEqual([]);
    const list = await h.call("GET", "/v1/conversations", { headers: { "x-api-key": key } });
    expect(list.status).toBe(200);
    expectError(await h.call("POST", "/v1/conversations", { headers: { "x-api-key": key }, body: { title: "x", source: "api" } }), 403, "forbidden");
  });
});
