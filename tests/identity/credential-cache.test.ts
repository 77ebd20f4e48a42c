// The in-isolate credential cache: what it keeps, for how long, and that every change made
// through the API reaches past it at once.
import { describe, expect, it } from "vitest";
import type { Principal } from "../../lib/auth";
import { CREDENTIAL_CACHE_MS, CredentialCache, credentialCache } from "../../lib/credential-cache";
import { createHarness, expectError } from "../support/harness";
import { addMember, cookieLogin, createKey, SAME_ORIGIN } from "./helpers";

const h = await createHarness();

const principal = (over: Partial<Principal> = {}): Principal => ({ workspaceId: "ws_1", role: "agent", scopes: ["read"], via: "api_key", apiKeyId: "key_1", ...over });

describe("CredentialCache", () => {
  it("keeps a principal for its TTL, and never past the credential's own expiry", () => {
    const cache = new CredentialCache(5_000);
    cache.set("pk_a", principal(), Number.POSITIVE_INFINITY, 1_000);
    expect(cache.get("pk_a", 5_999)).toMatchObject({ apiKeyId: "key_1" });
    expect(cache.get("pk_a", 6_000)).toBeUndefined();
    // A JWT expiring in 2 s is kept 2 s, not 5.
    cache.set("jwt", principal({ via: "jwt", agentId: "agt_1", apiKeyId: undefined }), 3_000, 1_000);
    expect(cache.get("jwt", 2_999)).toBeDefined();
    expect(cache.get("jwt", 3_000)).toBeUndefined();
    // Already expired: not kept at all.
    cache.set("old", principal(), 500, 1_000);
    expect(cache.get("old", 1_000)).toBeUndefined();
  });

  it("forgets by credential, API key and agent; a zero TTL caches nothing", () => {
    const cache = new CredentialCache(5_000);
    const now = Date.now();
    cache.set("pk_a", principal({ apiKeyId: "key_a" }), undefined, now);
    cache.set("pk_b", principal({ apiKeyId: "key_b" }), undefined, now);
    cache.set("jwt_1", principal({ via: "jwt", agentId: "agt_1", apiKeyId: undefined }), undefined, now);
    cache.set("cookie_1", principal({ via: "cookie", agentId: "agt_1", apiKeyId: undefined }), undefined, now);
    cache.forgetApiKey("key_a");
    expect([cache.get("pk_a", now), cache.get("pk_b", now)].map(Boolean)).toEqual([false, true]);
    cache.forgetAgent("agt_1");
    expect([cache.get("jwt_1", now), cache.get("cookie_1", now)].map(Boolean)).toEqual([false, false]);
    cache.forgetCredential("pk_b");
    expect(cache.size).toBe(0);
    const off = new CredentialCache(0);
    off.set("pk_a", principal(), undefined, now);
    expect(off.get("pk_a", now)).toBeUndefined();
  });

  it("holds at most `max` entries, dropping the oldest", () => {
    const cache = new CredentialCache(5_000, 3);
    const now = Date.now();
    for (const k of ["a", "b", "c", "d"]) cache.set(k, principal(), undefined, now);
    expect(cache.size).toBe(3);
    expect(cache.get("a", now)).toBeUndefined();
    expect(cache.get("d", now)).toBeDefined();
  });

  it("uses a TTL of a few seconds", () => {
    expect(CREDENTIAL_CACHE_MS).toBeGreaterThan(0);
    expect(CREDENTIAL_CACHE_MS).toBeLessThanOrEqual(5_000);
  });
});

describe("credential changes through the API apply at once, cache or not", () => {
  it("a request fills the cache; an unknown key is never cached", async () => {
    const t = await h.signUp();
    const k = await createKey(h, t.token);
    expect((await h.call("GET", "/v1/auth/me", { token: k.key })).status).toBe(200);
    expect(credentialCache.get(k.key)).toMatchObject({ apiKeyId: k.id, workspaceId: t.workspaceId });
    expectError(await h.call("GET", "/v1/auth/me", { token: "pk_unknown_key_000000000000" }), 401, "unauthorized");
    expect(credentialCache.get("pk_unknown_key_000000000000")).toBeUndefined();
  });

  it("a demoted admin loses admin rights on the next request", async () => {
    const t = await h.signUp();
    const admin = await addMember(h, t, "admin");
    expect((await h.call("GET", "/v1/api-keys", { token: admin.token })).status).toBe(200);
    expect((await h.call("POST", `/v1/agents/${admin.id}/role`, { token: t.token, body: { role: "agent" } })).status).toBe(200);
    expectError(await h.call("GET", "/v1/api-keys", { token: admin.token }), 403, "forbidden");
    expect((await h.call("GET", "/v1/auth/me", { token: admin.token })).body.auth.role).toBe("agent");
  });

  it("a removed agent's access token stops working on the next request", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t);
    expect((await h.call("GET", "/v1/auth/me", { token: m.token })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/agents/${m.id}`, { token: t.token })).status).toBe(200);
    expectError(await h.call("GET", "/v1/auth/me", { token: m.token }), 401, "unauthorized");
  });

  it("a logged-out cookie, and the other sessions ended by a password change, stop working at once", async () => {
    const t = await h.signUp();
    const a = await cookieLogin(h, t.email, t.password);
    const b = await cookieLogin(h, t.email, t.password);
    for (const s of [a, b]) expect((await h.call("GET", "/v1/auth/me", { headers: { cookie: s.cookie } })).status).toBe(200);
    // Password change from session a: b is revoked, a is kept.
    const changed = await h.call("POST", "/v1/settings/password", {
      headers: { cookie: a.cookie, ...SAME_ORIGIN },
      body: { current_password: t.password, new_password: "another-s3cret-password" },
    });
    expect(changed.status).toBe(200);
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie: b.cookie } }), 401, "unauthorized");
    expect((await h.call("GET", "/v1/auth/me", { headers: { cookie: a.cookie } })).status).toBe(200);
    expect((await h.call("POST", "/v1/auth/logout", { headers: { cookie: a.cookie, ...SAME_ORIGIN } })).status).toBe(200);
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie: a.cookie } }), 401, "unauthorized");
  });
});

describe("CredentialCache entries are shared", () => {
  it("hands out a frozen principal, so one request cannot change it for the next", () => {
    const cache = new CredentialCache(5_000);
    const now = Date.now();
    cache.set("pk_a", principal(), undefined, now);
    const p = cache.get("pk_a", now)!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.scopes)).toBe(true);
    expect(() => {
      (p as { role: string }).role = "owner";
    }).toThrow(TypeError);
  });
});
