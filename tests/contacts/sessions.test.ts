import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { IdentifyResult, Session } from "../../functions/contacts/schemas";
import { listOf } from "../../lib/openapi";
import { contacts, events } from "../../schema";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();

const post = async (token: string, path: string, body: unknown, status = 201) => {
  const r = await h.call("POST", path, { token, body });
  expect(r.status, r.text).toBe(status);
  return r.body;
};

describe("sessions: create, get, list, PATCH", () => {
  it("creates a session (source defaults to web) and gets it with tags", async () => {
    const t = await h.signUp();
    const s = await post(t.token, "/v1/sessions", { metadata: { page: "/pricing" } });
    expect(Session.parse(s)).toBeTruthy();
    expect(s).toMatchObject({ contact_id: null, source: "web", metadata: { page: "/pricing" }, tags: [] });
    expect(s.id).toMatch(/^ses_/);
    const g = await h.call("GET", `/v1/sessions/${s.id}`, { token: t.token });
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ id: s.id, tags: [] });
  });

  it("links a contact at creation; an unknown contact_id is a 422 on contact_id", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "Ada" });
    const s = await post(t.token, "/v1/sessions", { contact_id: c.id, source: "app" });
    expect(s).toMatchObject({ contact_id: c.id, source: "app" });
    const bad = expectError(await h.call("POST", "/v1/sessions", { token: t.token, body: { contact_id: "ct_nope" } }), 422, "validation_error");
    expect(bad.details.fields).toEqual({ contact_id: ["No such contact."] });
  });

  it("links, relinks and unlinks with PATCH, merging metadata key by key", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "Ada" });
    const s = await post(t.token, "/v1/sessions", { metadata: { a: 1, b: 2 } });
    const linked = await h.call("PATCH", `/v1/sessions/${s.id}`, { token: t.token, body: { contact_id: c.id, metadata: { b: null, c: 3 } } });
    expect(linked.status, linked.text).toBe(200);
    expect(linked.body).toMatchObject({ contact_id: c.id, metadata: { a: 1, c: 3 } });
    expect(linked.body.metadata.b).toBeUndefined();
    const unlinked = await h.call("PATCH", `/v1/sessions/${s.id}`, { token: t.token, body: { contact_id: null } });
    expect(unlinked.body.contact_id).toBeNull();
    expectError(await h.call("PATCH", `/v1/sessions/${s.id}`, { token: t.token, body: { contact_id: "ct_missing" } }), 422, "validation_error");
    expectError(await h.call("PATCH", "/v1/sessions/ses_missing", { token: t.token, body: {} }), 404, "not_found");
    const evs = await h.services.db.select().from(events).where(eq(events.entityId, s.id)).orderBy(events.createdAt, events.id);
    expect(evs.map((e) => e.type)).toEqual(["session.created", "session.updated", "session.updated"]);
    expect(evs[2]!.data).toMatchObject({ previous_contact_id: c.id, changed: ["contact_id"] });
  });

  it("lists by contact_id and tag, paginated and sorted", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "Ada" });
    const s1 = await post(t.token, "/v1/sessions", { contact_id: c.id });
    const s2 = await post(t.token, "/v1/sessions", { contact_id: c.id });
    const s3 = await post(t.token, "/v1/sessions", {});
    await post(t.token, `/v1/sessions/${s3.id}/tags`, { tag: "returning" });
    const byContact = await h.call("GET", `/v1/sessions?contact_id=${c.id}`, { token: t.token });
    expect(listOf(Session).parse(byContact.body)).toBeTruthy();
    expect(byContact.body.data.map((s: { id: string }) => s.id)).toEqual([s2.id, s1.id]);
    const asc = await h.call("GET", `/v1/sessions?contact_id=${c.id}&sort=created_at`, { token: t.token });
    expect(asc.body.data.map((s: { id: string }) => s.id)).toEqual([s1.id, s2.id]);
    const byTag = await h.call("GET", "/v1/sessions?tag=RETURNING", { token: t.token });
    expect(byTag.body.data.map((s: { id: string }) => s.id)).toEqual([s3.id]);
    const all = await h.call("GET", "/v1/sessions?per_page=2", { token: t.token });
    expect(all.body.meta).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    const ofContact = await h.call("GET", `/v1/contacts/${c.id}/sessions`, { token: t.token });
    expect(ofContact.status).toBe(200);
    expect(ofContact.body.data.map((s: { id: string }) => s.id)).toEqual([s2.id, s1.id]);
    expectError(await h.call("GET", "/v1/contacts/ct_missing/sessions", { token: t.token }), 404, "not_found");
    expectError(await h.call("GET", "/v1/sessions?sort=-name", { token: t.token }), 400, "bad_request");
  });
});

describe("POST /v1/sessions/{id}/identify", () => {
  it("creates the contact, links the session; the same email from a second session finds it", async () => {
    const t = await h.signUp();
    const s1 = await post(t.token, "/v1/sessions", {});
    const s2 = await post(t.token, "/v1/sessions", {});
    const a = await post(t.token, `/v1/sessions/${s1.id}/identify`, { email: "Visitor@Example.com", name: "Vi", attributes: { plan: "free" } }, 200);
    expect(IdentifyResult.parse(a)).toBeTruthy();
    expect(a.contact_created).toBe(true);
    expect(a.contact).toMatchObject({ email: "visitor@example.com", name: "Vi", attributes: { plan: "free" } });
    expect(a.session.contact_id).toBe(a.contact.id);
    const b = await post(t.token, `/v1/sessions/${s2.id}/identify`, { email: "visitor@example.com", phone: "+44 20 7946 0000", attributes: { seats: 3 } }, 200);
    expect(b.contact_created).toBe(false);
    expect(b.contact.id).toBe(a.contact.id);
    // Blank phone filled, attributes merged, name kept.
    expect(b.contact).toMatchObject({ phone: "+442079460000", name: "Vi", attributes: { plan: "free", seats: 3 } });
    const sessions = await h.call("GET", `/v1/contacts/${a.contact.id}/sessions`, { token: t.token });
    expect(sessions.body.meta.total).toBe(2);
  });

  it("finds by phone when there is no email match, and never steals another contact's email", async () => {
    const t = await h.signUp();
    const byPhone = await post(t.token, "/v1/contacts", { phone: "+15550100" });
    const other = await post(t.token, "/v1/contacts", { email: "taken@example.com" });
    const s = await post(t.token, "/v1/sessions", {});
    const r = await post(t.token, `/v1/sessions/${s.id}/identify`, { phone: "+1 555 0100" }, 200);
    expect(r.contact.id).toBe(byPhone.id);
    const r2 = await post(t.token, `/v1/sessions/${s.id}/identify`, { email: "taken@example.com", phone: "+15550100" }, 200);
    // The email matches first: the session moves to that contact, whose blank phone stays blank (taken).
    expect(r2.contact.id).toBe(other.id);
    expect(r2.contact.phone).toBeNull();
  });

  it("needs an email or a phone (422) and a session of the workspace (404)", async () => {
    const t = await h.signUp();
    const s = await post(t.token, "/v1/sessions", {});
    const err = expectError(await h.call("POST", `/v1/sessions/${s.id}/identify`, { token: t.token, body: { name: "Nobody" } }), 422, "validation_error");
    expect(Object.keys(err.details.fields)).toEqual(["email"]);
    const err2 = expectError(await h.call("POST", `/v1/sessions/${s.id}/identify`, { token: t.token, body: { email: "bad", phone: "x" } }), 422, "validation_error");
    expect(Object.keys(err2.details.fields).sort()).toEqual(["email", "phone"]);
    expectError(await h.call("POST", "/v1/sessions/ses_missing/identify", { token: t.token, body: { email: "a@example.com" } }), 404, "not_found");
  });

  it("10 concurrent identifies with the same email give exactly one contact", async () => {
    const t = await h.signUp();
    const ss = await Promise.all(Array.from({ length: 10 }, () => post(t.token, "/v1/sessions", {})));
    const rs = await Promise.all(ss.map((s) => h.call("POST", `/v1/sessions/${s.id}/identify`, { token: t.token, body: { email: "race@example.com", name: "Racer" } })));
    for (const r of rs) expect(r.status, r.text).toBe(200);
    const ids = new Set(rs.map((r) => r.body.contact.id));
    expect(ids.size).toBe(1);
    expect(rs.filter((r) => r.body.contact_created).length).toBe(1);
    const rows = await h.services.db.select().from(contacts).where(and(eq(contacts.workspaceId, t.workspaceId), eq(contacts.email, "race@example.com")));
    expect(rows.length).toBe(1);
    const list = await h.call("GET", `/v1/sessions?contact_id=${rows[0]!.id}&per_page=100`, { token: t.token });
    expect(list.body.meta.total).toBe(10);
    const created = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.created")));
    expect(created.length).toBe(1);
  });
});
