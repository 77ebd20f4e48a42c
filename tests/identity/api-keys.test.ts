import { describe, expect, it, vi } from "vitest";
import { ApiKey, CreatedApiKey } from "../../functions/identity/schemas";
import { CREDENTIAL_CACHE_MS } from "../../lib/credential-cache";
import { listOf } from "../../lib/openapi";
import { createHarness, expectError } from "../support/harness";
import { addMember, createKey } from "./helpers";

const h = await createHarness();

describe("API keys: happy path", () => {
  it("creates a key shown once, with default scopes, and it authenticates", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "Zapier" } });
    expect(r.status).toBe(201);
    const key = CreatedApiKey.parse(r.body);
    expect(key.key).toMatch(/^pk_live_[A-Za-z0-9_-]{20,}$/);
    expect(key.id).toMatch(/^key_/);
    expect(key.prefix).toBe(key.key.slice(0, 12));
    expect(key.scopes).toEqual(["read", "write"]);
    expect(key).toMatchObject({ name: "Zapier", last_used_at: null, expires_at: null, revoked_at: null });

    const me = await h.call("GET", "/v1/auth/me", { token: key.key });
    expect(me.status).toBe(200);
    expect(me.body.auth).toMatchObject({ via: "api_key", api_key_id: key.id, scopes: ["read", "write"], role: "agent" });
    expect(me.body.workspace.id).toBe(t.workspaceId);
  });

  it("lists keys without the secret or its hash, paginated", async () => {
    const t = await h.signUp();
    const a = await createKey(h, t.token, ["read"], "first");
    const b = await createKey(h, t.token, ["read", "admin"], "second");
    await createKey(h, t.token, undefined, "third");
    const r = await h.call("GET", "/v1/api-keys?per_page=2", { token: t.token });
    expect(r.status).toBe(200);
    const page = listOf(ApiKey).parse(r.body);
    expect(page.meta).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    expect(page.data.map((k) => k.name)).toEqual(["third", "second"]);
    expect(page.links.next).toContain("page=2");
    expect(r.text).not.toContain(a.key);
    expect(r.text).not.toContain(b.key);
    for (const k of r.body.data) {
      expect(Object.keys(k).sort()).toEqual(["created_at", "expires_at", "id", "last_used_at", "name", "prefix", "revoked_at", "scopes"]);
    }
    const p2 = await h.call("GET", "/v1/api-keys?per_page=2&page=2&sort=name", { token: t.token });
    expect(p2.body.data.map((k: { name: string }) => k.name)).toEqual(["third"]);
  });

  it("records when a key was last used", async () => {
    const t = await h.signUp();
    const k = await createKey(h, t.token);
    await h.call("GET", "/v1/settings/workspace", { token: k.key });
    // last_used_at is written after the response; poll the list briefly.
    let used: string | null = null;
    for (let i = 0; i < 20 && !used; i++) {
      const r = await h.call("GET", "/v1/api-keys", { token: t.token });
      used = r.body.data.find((x: { id: string }) => x.id === k.id).last_used_at;
      if (!used) await new Promise((res) => setTimeout(res, 25));
    }
    expect(used).toMatch(/^\d{4}-/);
  });

  it("accepts an expiry in the future, and an expired key stops working", async () => {
    const t = await h.signUp();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "temp", expires_at: expires } });
    expect(r.status).toBe(201);
    expect(r.body.expires_at).toBe(expires);
    expect((await h.call("GET", "/v1/auth/me", { token: r.body.key })).status).toBe(200);
    // Move the expiry into the past directly in the database.
    const { apiKeys } = await import("../../schema");
    const { eq } = await import("drizzle-orm");
    await h.services.db.update(apiKeys).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiKeys.id, r.body.id));
    // A change behind Parley's back is seen once this instance's credential cache lets go of
    // the key: within CREDENTIAL_CACHE_MS (changes through the API apply at once, see below).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + CREDENTIAL_CACHE_MS });
    try {
      const after = await h.call("GET", "/v1/auth/me", { token: r.body.key });
      expect(expectError(after, 401, "unauthorized").message).toMatch(/invalid or revoked/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("revokes a key: it stops working and stays listed with revoked_at", async () => {
    const t = await h.signUp();
    const k = await createKey(h, t.token);
    // Used first, so this instance has it cached: the revocation must reach past the cache.
    expect((await h.call("GET", "/v1/auth/me", { token: k.key })).status).toBe(200);
    const r = await h.call("DELETE", `/v1/api-keys/${k.id}`, { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: true, id: k.id });
    expectError(await h.call("GET", "/v1/auth/me", { token: k.key }), 401, "unauthorized");
    const list = await h.call("GET", "/v1/api-keys", { token: t.token });
    expect(list.body.data[0].revoked_at).toMatch(/^\d{4}-/);
    // Revoking again answers the same and keeps the first revocation time.
    const again = await h.call("DELETE", `/v1/api-keys/${k.id}`, { token: t.token });
    expect(again.body).toEqual({ deleted: true, id: k.id });
    const list2 = await h.call("GET", "/v1/api-keys", { token: t.token });
    expect(list2.body.data[0].revoked_at).toBe(list.body.data[0].revoked_at);
  });

  it("lets an admin-scoped key manage keys within its own scopes", async () => {
    const t = await h.signUp();
    const admin = await createKey(h, t.token, ["read", "write", "admin"]);
    const r = await h.call("POST", "/v1/api-keys", { headers: { "x-api-key": admin.key }, body: { name: "child", scopes: ["read"] } });
    expect(r.status).toBe(201);
    expect(r.body.scopes).toEqual(["read"]);
  });

  it("deduplicates and orders scopes", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "k", scopes: ["write", "read", "write"] } });
    expect(r.status).toBe(201);
    expect(r.body.scopes).toEqual(["read", "write"]);
  });
});

describe("API keys: errors", () => {
  it("lists every validation problem", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "", scopes: ["read", "root"], expires_at: "tomorrow" } });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["expires_at", "name", "scopes.1"]);
  });

  it("refuses an empty scope list and an expiry in the past", async () => {
    const t = await h.signUp();
    const empty = expectError(await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "k", scopes: [] } }), 422, "validation_error");
    expect(empty.details.fields.scopes).toBeDefined();
    const past = expectError(
      await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "k", expires_at: "2001-01-01T00:00:00Z" } }),
      422,
      "validation_error",
    );
    expect(past.details.fields).toEqual({ expires_at: ["Must be in the future."] });
  });

  it("answers 400 to malformed JSON and bad query parameters", async () => {
    const t = await h.signUp();
    expectError(await h.call("POST", "/v1/api-keys", { token: t.token, raw: '{"name":', headers: { "content-type": "application/json" } }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/api-keys?per_page=1000", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/api-keys?sort=key_hash", { token: t.token }), 400, "bad_request");
  });

  it("answers 404 for an unknown key id", async () => {
    const t = await h.signUp();
    expectError(await h.call("DELETE", "/v1/api-keys/key_nope", { token: t.token }), 404, "not_found");
  });
});

describe("API keys: security", () => {
  it("needs credentials", async () => {
    expectError(await h.call("GET", "/v1/api-keys"), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/api-keys", { body: { name: "x" } }), 401, "unauthorized");
    expectError(await h.call("DELETE", "/v1/api-keys/key_x"), 401, "unauthorized");
  });

  it("is admin-only: an agent gets 403, an admin may", async () => {
    const t = await h.signUp();
    const agent = await addMember(h, t, "agent");
    const admin = await addMember(h, t, "admin");
    const k = await createKey(h, t.token);
    expectError(await h.call("GET", "/v1/api-keys", { token: agent.token }), 403, "forbidden");
    expectError(await h.call("POST", "/v1/api-keys", { token: agent.token, body: { name: "x" } }), 403, "forbidden");
    expectError(await h.call("DELETE", `/v1/api-keys/${k.id}`, { token: agent.token }), 403, "forbidden");
    expect((await h.call("GET", "/v1/api-keys", { token: admin.token })).status).toBe(200);
    expect((await h.call("POST", "/v1/api-keys", { token: admin.token, body: { name: "y" } })).status).toBe(201);
  });

  it("refuses keys without the admin scope", async () => {
    const t = await h.signUp();
    const rw = await createKey(h, t.token, ["read", "write"]);
    const e = expectError(await h.call("GET", "/v1/api-keys", { token: rw.key }), 403, "forbidden");
    expect(e.message).toMatch(/admin/);
    expectError(await h.call("POST", "/v1/api-keys", { token: rw.key, body: { name: "x" } }), 403, "forbidden");
  });

  it("does not let a key grant scopes it does not hold", async () => {
    const t = await h.signUp();
    const k = await createKey(h, t.token, ["read", "admin"]);
    const e = expectError(await h.call("POST", "/v1/api-keys", { token: k.key, body: { name: "wider", scopes: ["read", "write"] } }), 403, "forbidden");
    expect(e.details).toEqual({ scopes: ["write"] });
    // Default scopes include write, which this key lacks.
    expectError(await h.call("POST", "/v1/api-keys", { token: k.key, body: { name: "default" } }), 403, "forbidden");
    expect((await h.call("POST", "/v1/api-keys", { token: k.key, body: { name: "same", scopes: ["read"] } })).status).toBe(201);
  });

  it("keeps other workspaces' keys out of reach and out of the list", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const kb = await createKey(h, b.token, undefined, "b's key");
    expectError(await h.call("DELETE", `/v1/api-keys/${kb.id}`, { token: a.token }), 404, "not_found");
    const list = await h.call("GET", "/v1/api-keys", { token: a.token });
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(kb.id);
    expect(list.body.meta.total).toBe(0);
    // Still working for b.
    expect((await h.call("GET", "/v1/auth/me", { token: kb.key })).body.workspace.id).toBe(b.workspaceId);
  });
});
