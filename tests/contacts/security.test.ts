import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { agentToken, expectInvisible } from "../support/tenancy";

const h = await createHarness();

const post = async (token: string, path: string, body: unknown, status = 201) => {
  const r = await h.call("POST", path, { token, body });
  expect(r.status, r.text).toBe(status);
  return r.body;
};

const ROUTES = (ct: string, ses: string) => [
  ["GET", "/v1/contacts"],
  ["POST", "/v1/contacts"],
  ["GET", `/v1/contacts/${ct}`],
  ["PATCH", `/v1/contacts/${ct}`],
  ["DELETE", `/v1/contacts/${ct}`],
  ["POST", `/v1/contacts/${ct}/merge`],
  ["GET", `/v1/contacts/${ct}/sessions`],
  ["GET", `/v1/contacts/${ct}/tags`],
  ["POST", `/v1/contacts/${ct}/tags`],
  ["DELETE", `/v1/contacts/${ct}/tags/vip`],
  ["GET", "/v1/sessions"],
  ["POST", "/v1/sessions"],
  ["GET", `/v1/sessions/${ses}`],
  ["PATCH", `/v1/sessions/${ses}`],
  ["POST", `/v1/sessions/${ses}/identify`],
  ["GET", `/v1/sessions/${ses}/tags`],
  ["POST", `/v1/sessions/${ses}/tags`],
  ["DELETE", `/v1/sessions/${ses}/tags/vip`],
] as const;

describe("contacts and sessions: security", () => {
  it("every route answers 401 without credentials, and with a bad token", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "A" });
    const s = await post(t.token, "/v1/sessions", {});
    for (const [method, path] of ROUTES(c.id, s.id)) {
      expectError(await h.call(method, path, { body: method === "GET" || method === "DELETE" ? undefined : { email: "a@example.com" } }), 401, "unauthorized");
      expectError(await h.call(method, path, { token: "not-a-jwt" }), 401, "unauthorized");
    }
    // Nothing was changed by the refused calls.
    expect((await h.call("GET", `/v1/contacts/${c.id}`, { token: t.token })).body.name).toBe("A");
  });

  it("contact delete and merge (which deletes the mergee) are admin-only: an agent gets 403, an admin and the owner succeed", async () => {
    const t = await h.signUp();
    const agent = await agentToken(h, t, "agent");
    const admin = await agentToken(h, t, "admin");
    const c1 = await post(agent.token, "/v1/contacts", { name: "by agent" });
    const c2 = await post(t.token, "/v1/contacts", { name: "two" });
    const err = expectError(await h.call("DELETE", `/v1/contacts/${c1.id}`, { token: agent.token }), 403, "forbidden");
    expect(err.message).toMatch(/admin/);
    // Merging deletes the mergee: the same permission as deleting.
    expectError(await h.call("POST", `/v1/contacts/${c1.id}/merge`, { token: agent.token, body: { mergee_id: c2.id } }), 403, "forbidden");
    expect((await h.call("GET", `/v1/contacts/${c2.id}`, { token: agent.token })).status).toBe(200);
    // An agent may still do everything else.
    expect((await h.call("PATCH", `/v1/contacts/${c1.id}`, { token: agent.token, body: { name: "x" } })).status).toBe(200);
    expect((await h.call("POST", `/v1/contacts/${c1.id}/merge`, { token: admin.token, body: { mergee_id: c2.id } })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/contacts/${c1.id}`, { token: admin.token })).status).toBe(200);
    const c3 = await post(t.token, "/v1/contacts", {});
    expect((await h.call("DELETE", `/v1/contacts/${c3.id}`, { token: t.token })).status).toBe(200);
  });

  it("another workspace's contacts and sessions are 404 everywhere and absent from every list and filter", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const c = await post(theirs.token, "/v1/contacts", { name: "Secret Person", email: "secret@example.com", phone: "+15559999" });
    const c2 = await post(theirs.token, "/v1/contacts", { name: "Second Secret" });
    const s = await post(theirs.token, "/v1/sessions", { contact_id: c.id });
    await post(theirs.token, `/v1/contacts/${c.id}/tags`, { tag: "vip" });
    await post(theirs.token, `/v1/sessions/${s.id}/tags`, { tag: "vip" });
    const own = await post(mine.token, "/v1/contacts", { name: "Mine" });
    const ownSession = await post(mine.token, "/v1/sessions", {});
    const agent = await agentToken(h, mine, "admin");

    for (const viewer of [mine, agent]) {
      await expectInvisible(h, viewer, [
        { method: "GET", path: `/v1/contacts/${c.id}` },
        { method: "PATCH", path: `/v1/contacts/${c.id}`, body: { name: "hijacked" } },
        { method: "DELETE", path: `/v1/contacts/${c.id}` },
        { method: "POST", path: `/v1/contacts/${c.id}/merge`, body: { mergee_id: own.id } },
        { method: "POST", path: `/v1/contacts/${c.id}/merge`, body: { mergee_id: c2.id } },
        { method: "GET", path: `/v1/contacts/${c.id}/sessions` },
        { method: "GET", path: `/v1/contacts/${c.id}/tags` },
        { method: "POST", path: `/v1/contacts/${c.id}/tags`, body: { tag: "pwned" } },
        { method: "DELETE", path: `/v1/contacts/${c.id}/tags/vip` },
        { method: "GET", path: `/v1/sessions/${s.id}` },
        { method: "PATCH", path: `/v1/sessions/${s.id}`, body: { contact_id: null } },
        { method: "POST", path: `/v1/sessions/${s.id}/identify`, body: { email: "secret@example.com" } },
        { method: "GET", path: `/v1/sessions/${s.id}/tags` },
        { method: "POST", path: `/v1/sessions/${s.id}/tags`, body: { tag: "pwned" } },
        { method: "DELETE", path: `/v1/sessions/${s.id}/tags/vip` },
        // Their ids in my request bodies: an unknown reference (422), never a link.
        { method: "POST", path: `/v1/contacts/${own.id}/merge`, body: { mergee_id: c.id }, expect: 422 },
        { method: "POST", path: "/v1/sessions", body: { contact_id: c.id }, expect: 422 },
        { method: "PATCH", path: `/v1/sessions/${ownSession.id}`, body: { contact_id: c.id }, expect: 422 },
        { list: "/v1/contacts?per_page=100", absent: c.id },
        { list: "/v1/contacts?search=secret", absent: c.id },
        { list: "/v1/contacts?search=5559999", absent: c.id },
        { list: "/v1/contacts?tag=vip", absent: c.id },
        { list: "/v1/sessions?per_page=100", absent: s.id },
        { list: `/v1/sessions?contact_id=${c.id}`, absent: s.id },
        { list: "/v1/sessions?tag=vip", absent: s.id },
        { list: `/v1/contacts/${own.id}/sessions`, absent: s.id },
      ]);
    }
    // Identifying my session with their contact's email makes a contact of my own.
    const r = await post(mine.token, `/v1/sessions/${ownSession.id}/identify`, { email: "secret@example.com" }, 200);
    expect(r.contact.id).not.toBe(c.id);
    expect(r.contact_created).toBe(true);
    // Their data is untouched.
    const still = await h.call("GET", `/v1/contacts/${c.id}`, { token: theirs.token });
    expect(still.body).toMatchObject({ name: "Secret Person", tags: [expect.objectContaining({ name: "vip" })] });
    expect((await h.call("GET", `/v1/sessions/${s.id}`, { token: theirs.token })).body.contact_id).toBe(c.id);
    expect((await h.call("GET", "/v1/tags", { token: theirs.token })).body.data.map((x: { name: string }) => x.name)).toEqual(["vip"]);
  });

  it("an API key needs the write scope to change and the admin scope to delete", async () => {
    const t = await h.signUp();
    const mk = async (scopes: string[]) => {
      const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: `k-${scopes.join("-")}`, scopes } });
      expect(r.status, r.text).toBe(201);
      return r.body.key as string;
    };
    const read = await mk(["read"]);
    const write = await mk(["read", "write"]);
    const c = await post(t.token, "/v1/contacts", { name: "K" });
    expect((await h.call("GET", `/v1/contacts/${c.id}`, { headers: { "x-api-key": read } })).status).toBe(200);
    expectError(await h.call("POST", "/v1/contacts", { headers: { "x-api-key": read }, body: {} }), 403, "forbidden");
    expect((await h.call("POST", "/v1/contacts", { headers: { "x-api-key": write }, body: {} })).status).toBe(201);
    expectError(await h.call("DELETE", `/v1/contacts/${c.id}`, { headers: { "x-api-key": write } }), 403, "forbidden");
  });
});
