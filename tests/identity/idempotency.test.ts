import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { sha256Hex } from "../../lib/ids";
import { DependencyError } from "../../lib/errors";
import { conversations } from "../../schema";
import { createHarness, expectError, unique } from "../support/harness";
import { addMember } from "./helpers";

const h = await createHarness();

describe("Idempotency-Key on POST", () => {
  it("replays the first response for the same key and body", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    const first = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "once" } });
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const second = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "once" } });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body.id).toBe(first.body.id);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get("content-type")).toMatch(/application\/json/);
    expect(second.headers.get("x-request-id")).toMatch(/^req_/);
    const list = await h.call("GET", "/v1/api-keys", { token: t.token });
    expect(list.body.meta.total).toBe(1);
  });

  it("answers 409 to the same key with another body", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    await h.call("POST", "/v1/agents", { token: t.token, headers: { "idempotency-key": key }, body: { name: "A", email: `${unique("a")}@example.com`, password: "password123" } });
    const r = await h.call("POST", "/v1/agents", { token: t.token, headers: { "idempotency-key": key }, body: { name: "B", email: `${unique("b")}@example.com`, password: "password123" } });
    expect(expectError(r, 409, "conflict").message).toMatch(/different parameters/);
  });

  it("lets one of two concurrent requests with the same key through; the other is 409 or a replay", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    const send = () => h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "race" } });
    const results = await Promise.all([send(), send(), send()]);
    const created = results.filter((r) => r.status === 201 && r.headers.get("idempotent-replayed") === null);
    expect(created).toHaveLength(1);
    for (const r of results) {
      if (r === created[0]) continue;
      if (r.status === 409) expectError(r, 409, "conflict");
      else expect(r.body.id).toBe(created[0]!.body.id);
    }
    expect((await h.call("GET", "/v1/api-keys", { token: t.token })).body.meta.total).toBe(1);
  });

  it("scopes keys per workspace", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const key = unique("idem");
    const ra = await h.call("POST", "/v1/api-keys", { token: a.token, headers: { "idempotency-key": key }, body: { name: "same" } });
    const rb = await h.call("POST", "/v1/api-keys", { token: b.token, headers: { "idempotency-key": key }, body: { name: "same" } });
    expect(rb.status).toBe(201);
    expect(rb.headers.get("idempotent-replayed")).toBeNull();
    expect(rb.body.id).not.toBe(ra.body.id);
    expect((await h.call("GET", "/v1/api-keys", { token: b.token })).body.data[0].id).toBe(rb.body.id);
  });

  it("never replays one caller's response to another caller of the same workspace", async () => {
    const t = await h.signUp();
    const admin = await addMember(h, t, "admin");
    const key = unique("idem");
    const first = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "secret" } });
    expect(first.status).toBe(201);
    const other = await h.call("POST", "/v1/api-keys", { token: admin.token, headers: { "idempotency-key": key }, body: { name: "secret" } });
    expectError(other, 409, "conflict");
    expect(other.text).not.toContain(first.body.key);
  });

  it("works on the public sign-up, and replays an error answer too", async () => {
    const key = unique("idem");
    const body = { name: "Idem Inc", owner: { name: "I", email: `${unique("i")}@example.com`, password: "password123" } };
    const first = await h.call("POST", "/v1/workspaces", { headers: { "idempotency-key": key }, body });
    const second = await h.call("POST", "/v1/workspaces", { headers: { "idempotency-key": key }, body });
    expect(first.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body.workspace.id).toBe(first.body.workspace.id);

    const t = await h.signUp();
    const k2 = unique("idem");
    const bad = { name: "" };
    const e1 = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": k2 }, body: bad });
    const e2 = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": k2 }, body: bad });
    expectError(e1, 422, "validation_error");
    expectError(e2, 422, "validation_error");
  });

  it("refuses an empty or over-long key and ignores it on other methods", async () => {
    const t = await h.signUp();
    expectError(await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": "x".repeat(256) }, body: { name: "k" } }), 400, "bad_request");
    const key = unique("idem");
    const a = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, headers: { "idempotency-key": key }, body: { name: "P1" } });
    const b = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, headers: { "idempotency-key": key }, body: { name: "P2" } });
    expect([a.body.name, b.body.name]).toEqual(["P1", "P2"]);
  });
  it("keeps nothing readable in Redis: no new API key, token or request body in the kept entry", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    const first = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "very-secret-name" } });
    expect(first.status).toBe(201);
    const raw = (await h.services.kv.get(`idem:${t.workspaceId}:${await sha256Hex(key)}`))!;
    expect(raw).toBeTruthy();
    expect(raw).not.toContain(first.body.key);
    expect(raw).not.toContain(first.body.key.slice(3, 20));
    expect(raw).not.toContain("very-secret-name");
    expect(raw).not.toContain(first.body.id);
    // The fingerprint is keyed: a plain SHA-256 of the request cannot be matched against it.
    expect(raw).not.toContain(await sha256Hex(`POST /v1/api-keys\napplication/json\n${t.agentId}\n${JSON.stringify({ name: "very-secret-name" })}`));
    // Still replayed, secret included, to the caller who holds the key.
    const again = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "idempotency-key": key }, body: { name: "very-secret-name" } });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.key).toBe(first.body.key);
    // Sign-in tokens likewise.
    const loginKey = unique("idem");
    const login = await h.call("POST", "/v1/auth/login", { headers: { "idempotency-key": loginKey }, body: { email: t.email, password: t.password } });
    expect(login.status).toBe(200);
    const kept = (await h.services.kv.get(`idem:anon:local:${await sha256Hex(loginKey)}`)) ?? "";
    expect(kept).toContain("sealed");
    expect(kept).not.toContain(login.body.access_token);
    expect(kept).not.toContain(t.password);
  });

  it("when Redis fails after the work is done, answers the real result, and a retry does not run it twice", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    const kv = h.services.kv;
    const realSet = kv.set.bind(kv);
    let sets = 0;
    // The claim goes through; keeping the response fails (Redis gone mid-request).
    (kv as { set: typeof kv.set }).set = async (k, v, o) => {
      if (k.startsWith("idem:") && ++sets === 2) throw new DependencyError("redis: connection reset");
      return realSet(k, v, o);
    };
    try {
      const r = await h.call("POST", "/v1/conversations", { token: t.token, headers: { "idempotency-key": key }, body: { title: "once", source: "api" } });
      expect(r.status, r.text).toBe(201);
      const retry = await h.call("POST", "/v1/conversations", { token: t.token, headers: { "idempotency-key": key }, body: { title: "once", source: "api" } });
      expectError(retry, 409, "conflict");
    } finally {
      (kv as { set: typeof kv.set }).set = realSet;
    }
    expect(await h.services.db.select().from(conversations).where(eq(conversations.workspaceId, t.workspaceId))).toHaveLength(1);
  });
});
