import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { cookieLogin, createKey } from "./helpers";

const h = await createHarness();

describe("every credential reaches the same read", () => {
  it("Bearer JWT, Bearer pk_…, X-API-Key and the session cookie all read the same workspace", async () => {
    const t = await h.signUp();
    const k = await createKey(h, t.token, ["read"]);
    const { cookie } = await cookieLogin(h, t.email, t.password);
    const ways: Array<[string, Record<string, string>]> = [
      ["jwt", { authorization: `Bearer ${t.token}` }],
      ["api_key", { authorization: `Bearer ${k.key}` }],
      ["api_key", { "x-api-key": k.key }],
      ["cookie", { cookie }],
    ];
    const bodies = [];
    for (const [via, headers] of ways) {
      const r = await h.call("GET", "/v1/settings/workspace", { headers });
      expect(r.status).toBe(200);
      bodies.push(r.body);
      expect((await h.call("GET", "/v1/auth/me", { headers })).body.auth.via).toBe(via);
    }
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    expect(bodies[0].id).toBe(t.workspaceId);
  });

  it("the Authorization header wins over a cookie, and a bad one is not rescued by it", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const { cookie } = await cookieLogin(h, a.email, a.password);
    expect((await h.call("GET", "/v1/settings/workspace", { token: b.token, headers: { cookie } })).body.id).toBe(b.workspaceId);
    expectError(await h.call("GET", "/v1/settings/workspace", { token: "garbage", headers: { cookie } }), 401, "unauthorized");
  });
});

describe("API key scopes", () => {
  it("needs read for GET and write for POST/PATCH/DELETE", async () => {
    const t = await h.signUp();
    const read = await createKey(h, t.token, ["read"]);
    const write = await createKey(h, t.token, ["write"]);
    expect((await h.call("GET", "/v1/agents", { token: read.key })).status).toBe(200);
    const e = expectError(await h.call("GET", "/v1/agents", { token: write.key }), 403, "forbidden");
    expect(e.message).toMatch(/`read`/);
    const w = expectError(await h.call("DELETE", `/v1/api-keys/${write.id}`, { token: read.key }), 403, "forbidden");
    expect(w.message).toMatch(/`write`/);
  });

  it("refuses unknown, empty and revoked keys", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/agents", { headers: { "x-api-key": "pk_live_nope" } }), 401, "unauthorized");
    expectError(await h.call("GET", "/v1/agents", { headers: { "x-api-key": "" } }), 401, "unauthorized");
    const k = await createKey(h, t.token);
    await h.call("DELETE", `/v1/api-keys/${k.id}`, { token: t.token });
    expectError(await h.call("GET", "/v1/agents", { headers: { "x-api-key": k.key } }), 401, "unauthorized");
  });
});
