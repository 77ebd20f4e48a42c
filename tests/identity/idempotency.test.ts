import { describe, expect, it } from "vitest";
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
});
