import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { Contact } from "../../functions/contacts/schemas";
import { newId } from "../../lib/ids";
import { contacts, conversations, events } from "../../schema";
import { createHarness, expectError, type Tenant } from "../support/harness";

const h = await createHarness();

const post = async (token: string, path: string, body: unknown, status = 201) => {
  const r = await h.call("POST", path, { token, body });
  expect(r.status, r.text).toBe(status);
  return r.body;
};

/** A conversation row straight in the table: the conversations function is not this area's. */
async function conversationFor(t: Tenant, contactId: string) {
  const id = newId("conv");
  await h.services.db.insert(conversations).values({ id, workspaceId: t.workspaceId, title: "Hello", contactId });
  return id;
}

describe("POST /v1/contacts/{id}/merge", () => {
  it("moves sessions, conversations and tags, fills blanks, deletes the mergee, in one go", async () => {
    const t = await h.signUp();
    const keep = await post(t.token, "/v1/contacts", { name: "Keeper", attributes: { plan: "pro" } });
    const gone = await post(t.token, "/v1/contacts", { name: "Other", email: "m@example.com", phone: "+15550123", attributes: { plan: "free", region: "eu" } });
    const s1 = await post(t.token, "/v1/sessions", { contact_id: gone.id });
    const s2 = await post(t.token, "/v1/sessions", { contact_id: keep.id });
    const conv = await conversationFor(t, gone.id);
    await post(t.token, `/v1/contacts/${gone.id}/tags`, { tag: "vip" });
    await post(t.token, `/v1/contacts/${gone.id}/tags`, { tag: "shared" });
    await post(t.token, `/v1/contacts/${keep.id}/tags`, { tag: "Shared" }, 201);

    const r = await post(t.token, `/v1/contacts/${keep.id}/merge`, { mergee_id: gone.id }, 200);
    expect(Contact.parse(r)).toBeTruthy();
    expect(r).toMatchObject({ id: keep.id, name: "Keeper", email: "m@example.com", phone: "+15550123", attributes: { plan: "pro", region: "eu" } });
    expect(r.tags.map((x: { name: string }) => x.name).sort()).toEqual(["shared", "vip"]);

    expectError(await h.call("GET", `/v1/contacts/${gone.id}`, { token: t.token }), 404, "not_found");
    const sessions = await h.call("GET", `/v1/contacts/${keep.id}/sessions`, { token: t.token });
    expect(sessions.body.data.map((s: { id: string }) => s.id).sort()).toEqual([s1.id, s2.id].sort());
    const [c] = await h.services.db.select().from(conversations).where(eq(conversations.id, conv));
    expect(c!.contactId).toBe(keep.id);

    const evs = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.merged")));
    expect(evs.length).toBe(1);
    expect(evs[0]!.data).toMatchObject({ mergee_id: gone.id, moved: { sessions: [s1.id], conversations: [conv] }, filled: ["email", "phone"] });
    const del = await h.services.db.select().from(events).where(and(eq(events.entityId, gone.id), eq(events.type, "contact.deleted")));
    expect(del[0]!.data).toMatchObject({ merged_into: keep.id });
  });

  it("keeps the contact's own email and phone when it has them", async () => {
    const t = await h.signUp();
    const keep = await post(t.token, "/v1/contacts", { email: "keep@example.com" });
    const gone = await post(t.token, "/v1/contacts", { email: "gone@example.com", name: "Gone" });
    const r = await post(t.token, `/v1/contacts/${keep.id}/merge`, { mergee_id: gone.id }, 200);
    expect(r).toMatchObject({ email: "keep@example.com", name: "Gone" });
    // The mergee's email is free again.
    await post(t.token, "/v1/contacts", { email: "gone@example.com" });
  });

  it("refuses a merge into itself (422) and unknown ids (404 path, 422 body)", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "Solo" });
    const self = expectError(await h.call("POST", `/v1/contacts/${c.id}/merge`, { token: t.token, body: { mergee_id: c.id } }), 422, "validation_error");
    expect(Object.keys(self.details.fields)).toEqual(["mergee_id"]);
    expectError(await h.call("POST", "/v1/contacts/ct_missing/merge", { token: t.token, body: { mergee_id: c.id } }), 404, "not_found");
    const unknown = expectError(await h.call("POST", `/v1/contacts/${c.id}/merge`, { token: t.token, body: { mergee_id: "ct_missing" } }), 422, "validation_error");
    expect(unknown.details.fields).toEqual({ mergee_id: ["No such contact."] });
    expectError(await h.call("POST", `/v1/contacts/${c.id}/merge`, { token: t.token, body: {} }), 422, "validation_error");
  });

  it("across workspaces changes nothing on either side", async () => {
    const [a, b] = [await h.signUp(), await h.signUp()];
    const mine = await post(a.token, "/v1/contacts", { email: "mine@example.com" });
    const theirs = await post(b.token, "/v1/contacts", { email: "theirs@example.com", name: "Theirs" });
    const theirSession = await post(b.token, "/v1/sessions", { contact_id: theirs.id });
    await post(b.token, `/v1/contacts/${theirs.id}/tags`, { tag: "secret" });
    const snapshot = async () => JSON.stringify(await h.services.db.select().from(contacts).where(eq(contacts.id, theirs.id)));
    const before = await snapshot();

    // Pulling another workspace's contact in: it is not there.
    expectError(await h.call("POST", `/v1/contacts/${mine.id}/merge`, { token: a.token, body: { mergee_id: theirs.id } }), 422, "validation_error");
    // Merging into another workspace's contact: the path resource is not there.
    expectError(await h.call("POST", `/v1/contacts/${theirs.id}/merge`, { token: a.token, body: { mergee_id: mine.id } }), 404, "not_found");

    expect(await snapshot()).toBe(before);
    expect((await h.call("GET", `/v1/contacts/${mine.id}`, { token: a.token })).body).toMatchObject({ email: "mine@example.com", tags: [] });
    expect((await h.call("GET", `/v1/sessions/${theirSession.id}`, { token: b.token })).body.contact_id).toBe(theirs.id);
    expect((await h.call("GET", `/v1/contacts/${theirs.id}`, { token: b.token })).body.tags.map((x: { name: string }) => x.name)).toEqual(["secret"]);
    const merged = await h.services.db.select().from(events).where(and(eq(events.workspaceId, a.workspaceId), eq(events.type, "contact.merged")));
    expect(merged.length).toBe(0);
  });

  it("rolls back everything when a step fails halfway", async () => {
    const t = await h.signUp();
    const keep = await post(t.token, "/v1/contacts", { name: "Keep" });
    const gone = await post(t.token, "/v1/contacts", { name: "Gone", email: "halfway@example.com" });
    const s = await post(t.token, "/v1/sessions", { contact_id: gone.id });
    // Make the final delete of the mergee fail: a trigger refuses it after sessions and email moved.
    const db = h.services.db;
    const { sql } = await import("drizzle-orm");
    await db.execute(sql.raw(`create or replace function refuse_delete_${t.workspaceId}() returns trigger language plpgsql as $$ begin raise exception 'refused for test'; end $$`));
    await db.execute(
      sql.raw(`create trigger refuse_delete_${t.workspaceId} before delete on contacts for each row when (old.id = '${gone.id}') execute function refuse_delete_${t.workspaceId}()`),
    );
    try {
      const r = await h.call("POST", `/v1/contacts/${keep.id}/merge`, { token: t.token, body: { mergee_id: gone.id } });
      expect(r.status).toBe(500);
      expect(r.text).not.toContain("refused for test");
    } finally {
      await db.execute(sql.raw(`drop trigger refuse_delete_${t.workspaceId} on contacts`));
      await db.execute(sql.raw(`drop function refuse_delete_${t.workspaceId}()`));
    }
    expect((await h.call("GET", `/v1/sessions/${s.id}`, { token: t.token })).body.contact_id).toBe(gone.id);
    expect((await h.call("GET", `/v1/contacts/${gone.id}`, { token: t.token })).body.email).toBe("halfway@example.com");
    expect((await h.call("GET", `/v1/contacts/${keep.id}`, { token: t.token })).body.email).toBeNull();
    const merged = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.merged")));
    expect(merged.length).toBe(0);
  });
});
