import { describe, expect, it } from "vitest";
import { Agent } from "../../functions/identity/schemas";
import { listOf } from "../../lib/openapi";
import { createHarness, expectError, unique } from "../support/harness";
import { addMember, cookieLogin, createKey, SAME_ORIGIN } from "./helpers";

const h = await createHarness();
const newAgent = (role?: string) => ({ name: "Grace", email: `${unique("g")}@example.com`, password: "password123", ...(role ? { role } : {}) });

describe("agents: happy path", () => {
  it("creates an agent (role agent by default) who can sign in", async () => {
    const t = await h.signUp();
    const body = newAgent();
    const r = await h.call("POST", "/v1/agents", { token: t.token, body });
    expect(r.status).toBe(201);
    const agent = Agent.parse(r.body);
    expect(agent).toMatchObject({ role: "agent", email: body.email, workspace_id: t.workspaceId, last_login_at: null });
    expect(r.text).not.toMatch(/password/);
    const tok = await h.call("POST", "/v1/auth/token", { body: { email: body.email, password: body.password } });
    expect(tok.status).toBe(200);
    expect(tok.body.agent.id).toBe(agent.id);
  });

  it("lists the workspace's agents, paginated, filtered by role, for any member", async () => {
    const t = await h.signUp();
    const member = await addMember(h, t, "agent");
    await addMember(h, t, "admin");
    const r = await h.call("GET", "/v1/agents?per_page=2&sort=created_at", { token: member.token });
    expect(r.status).toBe(200);
    const page = listOf(Agent).parse(r.body);
    expect(page.meta).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    expect(page.data[0]!.id).toBe(t.agentId);
    const admins = await h.call("GET", "/v1/agents?role=admin", { token: t.token });
    expect(admins.body.data.map((a: { role: string }) => a.role)).toEqual(["admin"]);
  });

  it("changes roles; an owner may grant and remove owner", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    const r = await h.call("POST", `/v1/agents/${m.id}/role`, { token: t.token, body: { role: "admin" } });
    expect(r.status).toBe(200);
    expect(Agent.parse(r.body).role).toBe("admin");
    // The new role applies at once to the access token already issued.
    expect((await h.call("GET", "/v1/api-keys", { token: m.token })).status).toBe(200);
    expect((await h.call("POST", `/v1/agents/${m.id}/role`, { token: t.token, body: { role: "owner" } })).body.role).toBe("owner");
    // With two owners, the first one may step down.
    expect((await h.call("POST", `/v1/agents/${t.agentId}/role`, { token: t.token, body: { role: "agent" } })).body.role).toBe("agent");
    // Setting the same role again is a no-op.
    expect((await h.call("POST", `/v1/agents/${m.id}/role`, { token: m.token, body: { role: "owner" } })).status).toBe(200);
  });

  it("deletes an agent and signs them out everywhere", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    const { cookie } = await cookieLogin(h, m.email, m.password);
    const r = await h.call("DELETE", `/v1/agents/${m.id}`, { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: true, id: m.id });
    expectError(await h.call("GET", "/v1/auth/me", { token: m.token }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: m.refreshToken } }), 401, "unauthorized");
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie } }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/auth/token", { body: { email: m.email, password: m.password } }), 401, "unauthorized");
    const list = await h.call("GET", "/v1/agents", { token: t.token });
    expect(list.body.data.map((a: { id: string }) => a.id)).toEqual([t.agentId]);
    expectError(await h.call("DELETE", `/v1/agents/${m.id}`, { token: t.token }), 404, "not_found");
  });
});

describe("agents: errors", () => {
  it("lists every validation problem", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/agents", { token: t.token, body: { name: " ", email: "x@", password: "short", role: "god" } });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["email", "name", "password", "role"]);
    const role = expectError(await h.call("POST", `/v1/agents/${t.agentId}/role`, { token: t.token, body: {} }), 422, "validation_error");
    expect(Object.keys(role.details.fields)).toEqual(["role"]);
  });

  it("answers 400 to malformed JSON and bad query parameters", async () => {
    const t = await h.signUp();
    const json = { "content-type": "application/json" };
    expectError(await h.call("POST", "/v1/agents", { token: t.token, raw: "{", headers: json }), 400, "bad_request");
    expectError(await h.call("POST", `/v1/agents/${t.agentId}/role`, { token: t.token, raw: "[nope", headers: json }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/agents?page=0", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/agents?role=king", { token: t.token }), 400, "bad_request");
  });

  it("answers 409 to an email taken anywhere in Parley, in any case", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const e = expectError(await h.call("POST", "/v1/agents", { token: a.token, body: { ...newAgent(), email: b.email.toUpperCase() } }), 409, "conflict");
    expect(e.details.fields.email).toBeDefined();
  });

  it("answers 404 to unknown agents", async () => {
    const t = await h.signUp();
    expectError(await h.call("POST", "/v1/agents/agt_nope/role", { token: t.token, body: { role: "admin" } }), 404, "not_found");
    expectError(await h.call("DELETE", "/v1/agents/agt_nope", { token: t.token }), 404, "not_found");
  });

  it("never leaves a workspace without an owner (409)", async () => {
    const t = await h.signUp();
    const demote = expectError(await h.call("POST", `/v1/agents/${t.agentId}/role`, { token: t.token, body: { role: "admin" } }), 409, "conflict");
    expect(demote.message).toMatch(/last owner/);
    expectError(await h.call("DELETE", `/v1/agents/${t.agentId}`, { token: t.token }), 409, "conflict");
    expect((await h.call("GET", "/v1/auth/me", { token: t.token })).body.agent.role).toBe("owner");
  });

  it("lets two owners not demote each other into none", async () => {
    const t = await h.signUp();
    const o2 = await addMember(h, t, "owner");
    const [a, b] = await Promise.all([
      h.call("POST", `/v1/agents/${o2.id}/role`, { token: t.token, body: { role: "agent" } }),
      h.call("POST", `/v1/agents/${t.agentId}/role`, { token: o2.token, body: { role: "agent" } }),
    ]);
    // One wins; the other is refused, as the last owner (409) or as no longer an owner (403).
    expect([a.status, b.status].filter((s) => s === 200)).toHaveLength(1);
    expect([403, 409]).toContain(a.status === 200 ? b.status : a.status);
    const owners = await h.call("GET", "/v1/agents?role=owner", { token: t.token });
    expect(owners.body.meta.total).toBe(1);
  });
});

describe("agents: security", () => {
  it("needs credentials", async () => {
    expectError(await h.call("GET", "/v1/agents"), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/agents", { body: newAgent() }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/agents/agt_x/role", { body: { role: "admin" } }), 401, "unauthorized");
    expectError(await h.call("DELETE", "/v1/agents/agt_x"), 401, "unauthorized");
  });

  it("is admin-only for changes: an agent gets 403", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    expectError(await h.call("POST", "/v1/agents", { token: m.token, body: newAgent() }), 403, "forbidden");
    expectError(await h.call("POST", `/v1/agents/${m.id}/role`, { token: m.token, body: { role: "admin" } }), 403, "forbidden");
    expectError(await h.call("DELETE", `/v1/agents/${t.agentId}`, { token: m.token }), 403, "forbidden");
  });

  it("lets only an owner grant, remove or delete owners", async () => {
    const t = await h.signUp();
    const admin = await addMember(h, t, "admin");
    const m = await addMember(h, t, "agent");
    expectError(await h.call("POST", "/v1/agents", { token: admin.token, body: newAgent("owner") }), 403, "forbidden");
    expectError(await h.call("POST", `/v1/agents/${m.id}/role`, { token: admin.token, body: { role: "owner" } }), 403, "forbidden");
    expectError(await h.call("POST", `/v1/agents/${t.agentId}/role`, { token: admin.token, body: { role: "agent" } }), 403, "forbidden");
    expectError(await h.call("DELETE", `/v1/agents/${t.agentId}`, { token: admin.token }), 403, "forbidden");
    // An admin may manage non-owners.
    expect((await h.call("POST", `/v1/agents/${m.id}/role`, { token: admin.token, body: { role: "admin" } })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/agents/${m.id}`, { token: admin.token })).status).toBe(200);
    expect((await h.call("POST", "/v1/agents", { token: admin.token, body: newAgent("admin") })).status).toBe(201);
  });

  it("checks API key scopes", async () => {
    const t = await h.signUp();
    const read = await createKey(h, t.token, ["read"]);
    const rw = await createKey(h, t.token, ["read", "write"]);
    const admin = await createKey(h, t.token, ["read", "write", "admin"]);
    expect((await h.call("GET", "/v1/agents", { token: read.key })).status).toBe(200);
    expectError(await h.call("POST", "/v1/agents", { token: read.key, body: newAgent() }), 403, "forbidden");
    expectError(await h.call("POST", "/v1/agents", { token: rw.key, body: newAgent() }), 403, "forbidden");
    expect((await h.call("POST", "/v1/agents", { token: admin.key, body: newAgent() })).status).toBe(201);
    // An API key is never an owner.
    expectError(await h.call("POST", "/v1/agents", { token: admin.key, body: newAgent("owner") }), 403, "forbidden");
  });

  it("checks CSRF for cookie-authenticated changes", async () => {
    const t = await h.signUp();
    const { cookie } = await cookieLogin(h, t.email, t.password);
    expectError(await h.call("POST", "/v1/agents", { headers: { cookie }, body: newAgent() }), 403, "forbidden");
    expect((await h.call("POST", "/v1/agents", { headers: { cookie, ...SAME_ORIGIN }, body: newAgent() })).status).toBe(201);
  });

  it("keeps other workspaces' agents out of reach and out of the list", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const bm = await addMember(h, b, "agent");
    expectError(await h.call("POST", `/v1/agents/${bm.id}/role`, { token: a.token, body: { role: "admin" } }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/agents/${bm.id}`, { token: a.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/agents/${b.agentId}`, { token: a.token }), 404, "not_found");
    const list = await h.call("GET", "/v1/agents", { token: a.token });
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([a.agentId]);
    expect((await h.call("GET", "/v1/auth/me", { token: bm.token })).body.agent.role).toBe("agent");
  });
});
