import { describe, expect, it } from "vitest";
import { Contact } from "../../functions/contacts/schemas";
import { listOf } from "../../lib/openapi";
import { createHarness, expectError, unique } from "../support/harness";

const h = await createHarness();

const newContact = async (token: string, body: Record<string, unknown> = {}) => {
  const r = await h.call("POST", "/v1/contacts", { token, body });
  expect(r.status, r.text).toBe(201);
  return r.body;
};

describe("contacts: create, get, update, delete", () => {
  it("creates a contact with normalized email and phone, and gets it with tags", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/contacts", {
      token: t.token,
      body: { name: " Grace Hopper ", email: "Grace@Example.COM", phone: "+1 (415) 555-0100", attributes: { plan: "enterprise" } },
    });
    expect(r.status).toBe(201);
    expect(Contact.parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ name: "Grace Hopper", email: "grace@example.com", phone: "+14155550100", attributes: { plan: "enterprise" }, tags: [] });
    expect(r.body.id).toMatch(/^ct_/);

    await h.call("POST", `/v1/contacts/${r.body.id}/tags`, { token: t.token, body: { tag: "vip" } });
    const g = await h.call("GET", `/v1/contacts/${r.body.id}`, { token: t.token });
    expect(g.status).toBe(200);
    expect(Contact.parse(g.body).tags!.map((x) => x.name)).toEqual(["vip"]);
  });

  it("creates an empty contact (every field optional)", async () => {
    const t = await h.signUp();
    const c = await newContact(t.token);
    expect(c).toMatchObject({ name: null, email: null, phone: null, attributes: {} });
  });

  it("merges attributes key by key on PATCH; null removes a key and clears a field", async () => {
    const t = await h.signUp();
    const c = await newContact(t.token, { name: "Ada", email: "ada@example.com", attributes: { plan: "free", seats: 2, legacy: "x" } });
    const r = await h.call("PATCH", `/v1/contacts/${c.id}`, { token: t.token, body: { email: null, attributes: { plan: "pro", legacy: null, region: "eu" } } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.attributes).toEqual({ plan: "pro", seats: 2, region: "eu" });
    expect(r.body.email).toBeNull();
    expect(r.body.name).toBe("Ada");
    expect(new Date(r.body.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(c.updated_at).getTime());
  });

  it("an empty PATCH changes nothing and writes no event", async () => {
    const t = await h.signUp();
    const c = await newContact(t.token, { name: "Same" });
    const r = await h.call("PATCH", `/v1/contacts/${c.id}`, { token: t.token, body: { name: "Same" } });
    expect(r.status).toBe(200);
    expect(r.body.updated_at).toBe(c.updated_at);
    const { events } = await import("../../schema");
    const { eq } = await import("drizzle-orm");
    const rows = await h.services.db.select().from(events).where(eq(events.entityId, c.id));
    expect(rows.map((e) => e.type)).toEqual(["contact.created"]);
  });

  it("answers 409 with the existing contact's id when email or phone is taken", async () => {
    const t = await h.signUp();
    const a = await newContact(t.token, { email: "one@example.com", phone: "+15550001" });
    const dupEmail = await h.call("POST", "/v1/contacts", { token: t.token, body: { email: "ONE@example.com" } });
    const err = expectError(dupEmail, 409, "conflict");
    expect(err.details.existing_contact_id).toBe(a.id);
    expect(Object.keys(err.details.fields)).toEqual(["email"]);

    const dupPhone = expectError(await h.call("POST", "/v1/contacts", { token: t.token, body: { phone: "+1 555 0001" } }), 409, "conflict");
    expect(dupPhone.details).toMatchObject({ existing_contact_id: a.id, fields: { phone: expect.any(Array) } });

    const b = await newContact(t.token, { email: "two@example.com" });
    const patch = expectError(await h.call("PATCH", `/v1/contacts/${b.id}`, { token: t.token, body: { email: "one@example.com", phone: "+15550001" } }), 409, "conflict");
    expect(patch.details.existing_contact_id).toBe(a.id);
    expect(Object.keys(patch.details.fields).sort()).toEqual(["email", "phone"]);
    // Re-saving a contact's own email is no conflict.
    expect((await h.call("PATCH", `/v1/contacts/${a.id}`, { token: t.token, body: { email: "one@example.com" } })).status).toBe(200);
  });

  it("allows the same email in two workspaces", async () => {
    const [t1, t2] = [await h.signUp(), await h.signUp()];
    await newContact(t1.token, { email: "shared@example.com" });
    await newContact(t2.token, { email: "shared@example.com" });
  });

  it("lists every validation problem in details.fields", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "", email: "not-an-email", phone: "call me", attributes: "x" } });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["attributes", "email", "name", "phone"]);
  });

  it("deletes a contact (admin) → {deleted, id}, then 404", async () => {
    const t = await h.signUp();
    const c = await newContact(t.token, { email: "gone@example.com" });
    const s = await h.call("POST", "/v1/sessions", { token: t.token, body: { contact_id: c.id } });
    const r = await h.call("DELETE", `/v1/contacts/${c.id}`, { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: true, id: c.id });
    expectError(await h.call("GET", `/v1/contacts/${c.id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/contacts/${c.id}`, { token: t.token }), 404, "not_found");
    // Its session stays, unlinked.
    expect((await h.call("GET", `/v1/sessions/${s.body.id}`, { token: t.token })).body.contact_id).toBeNull();
    // The email is free again.
    await newContact(t.token, { email: "gone@example.com" });
  });
});

describe("contacts: list, search, tag filter, sort, pagination", () => {
  it("searches name, email and phone case-insensitively; % and _ are literal", async () => {
    const t = await h.signUp();
    const grace = await newContact(t.token, { name: "Grace Hopper", email: "grace@navy.example", phone: "+14155550100" });
    const alan = await newContact(t.token, { name: "Alan Turing", email: "alan_t@bletchley.example" });
    const pct = await newContact(t.token, { name: "100% Legit" });
    const ids = async (q: string) => {
      const r = await h.call("GET", `/v1/contacts?search=${encodeURIComponent(q)}`, { token: t.token });
      expect(r.status, r.text).toBe(200);
      return r.body.data.map((c: { id: string }) => c.id).sort();
    };
    expect(await ids("HOPPER")).toEqual([grace.id]);
    expect(await ids("bletchley")).toEqual([alan.id]);
    expect(await ids("555-0100")).toEqual([grace.id]);
    expect(await ids("(415) 555")).toEqual([grace.id]);
    expect(await ids("%")).toEqual([pct.id]);
    expect(await ids("_")).toEqual([alan.id]);
    expect(await ids("nobody")).toEqual([]);
  });

  it("filters by tag and sorts by name both ways", async () => {
    const t = await h.signUp();
    const b = await newContact(t.token, { name: "bravo" });
    const a = await newContact(t.token, { name: "Alpha" });
    const c = await newContact(t.token, { name: "charlie" });
    for (const x of [a, c]) await h.call("POST", `/v1/contacts/${x.id}/tags`, { token: t.token, body: { tag: "Lead" } });
    const tagged = await h.call("GET", "/v1/contacts?tag=lead&sort=name", { token: t.token });
    expect(tagged.body.data.map((x: { id: string }) => x.id)).toEqual([a.id, c.id]);
    expect(tagged.body.data[0].tags.map((x: { name: string }) => x.name)).toEqual(["Lead"]);
    const desc = await h.call("GET", "/v1/contacts?sort=-name", { token: t.token });
    expect(desc.body.data.map((x: { id: string }) => x.id)).toEqual([c.id, b.id, a.id]);
    const none = await h.call("GET", "/v1/contacts?tag=unknown-tag", { token: t.token });
    expect(none.body.data).toEqual([]);
    expectError(await h.call("GET", "/v1/contacts?sort=email", { token: t.token }), 400, "bad_request");
  });

  it("paginates with meta and links that keep the other parameters", async () => {
    const t = await h.signUp();
    for (let i = 0; i < 5; i++) await newContact(t.token, { name: `p${i}` });
    const r = await h.call("GET", "/v1/contacts?per_page=2&page=2&search=p", { token: t.token });
    expect(listOf(Contact).parse(r.body)).toBeTruthy();
    expect(r.body.meta).toEqual({ page: 2, per_page: 2, total: 5, total_pages: 3 });
    expect(r.body.data.map((c: { name: string }) => c.name)).toEqual(["p2", "p1"]);
    expect(new URL(r.body.links.next).searchParams.get("search")).toBe("p");
    expect(new URL(r.body.links.next).searchParams.get("page")).toBe("3");
    expect(new URL(r.body.links.prev).searchParams.get("page")).toBe("1");
    expectError(await h.call("GET", "/v1/contacts?per_page=101", { token: t.token }), 400, "bad_request");
  });
});

describe("contacts: events", () => {
  it("writes contact.created, contact.updated and contact.deleted in the same transaction", async () => {
    const t = await h.signUp();
    const c = await newContact(t.token, { name: unique("ev") });
    await h.call("PATCH", `/v1/contacts/${c.id}`, { token: t.token, body: { name: "Renamed" } });
    await h.call("DELETE", `/v1/contacts/${c.id}`, { token: t.token });
    const { events } = await import("../../schema");
    const { eq } = await import("drizzle-orm");
    const rows = await h.services.db.select().from(events).where(eq(events.entityId, c.id)).orderBy(events.createdAt, events.id);
    expect(rows.map((e) => e.type)).toEqual(["contact.created", "contact.updated", "contact.deleted"]);
    expect(rows.every((e) => e.workspaceId === t.workspaceId && e.actor === t.agentId)).toBe(true);
    expect(rows[1]!.data).toMatchObject({ changed: ["name"] });
  });

  it("contact.created carries the contact as the 201 gives it (made in SQL from the inserted row), at depth 0 by the caller", async () => {
    const t = await h.signUp();
    const attributes = { plan: "enterprise", seats: 12, nested: { a: [1, "two", null], ok: true }, "ключ": "значение ✓", long_key_first: 1, z: 0 };
    for (const body of [{ name: "Grace O'Hara", email: `${unique("g")}@example.com`, phone: "+1 415 555 0199", attributes }, {}]) {
      const c = await newContact(t.token, body);
      const { events } = await import("../../schema");
      const { eq } = await import("drizzle-orm");
      const rows = await h.services.db.select().from(events).where(eq(events.entityId, c.id));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ type: "contact.created", entityType: "contact", workspaceId: t.workspaceId, actor: t.agentId, depth: 0 });
      const { tags, ...contact } = c;
      expect(tags).toEqual([]);
      expect(rows[0]!.data).toEqual({ contact });
    }
  });

  it("a 409 on any unique value (the visitor identifier too) writes neither a row nor an event", async () => {
    const t = await h.signUp();
    await newContact(t.token, { email: "x2@example.com", attributes: { identifier: "visitor-1" } });
    const { contacts, events } = await import("../../schema");
    const { and, count, eq } = await import("drizzle-orm");
    const counts = async () => [
      (await h.services.db.select({ n: count() }).from(contacts).where(eq(contacts.workspaceId, t.workspaceId)))[0]!.n,
      (await h.services.db.select({ n: count() }).from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.created"))))[0]!.n,
    ];
    expect(await counts()).toEqual([1, 1]);
    const byIdentifier = expectError(await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Other", attributes: { identifier: "visitor-1" } } }), 409, "conflict");
    expect(byIdentifier.message).toBe("A contact with this email or phone already exists.");
    expectError(await h.call("POST", "/v1/contacts", { token: t.token, body: { email: "X2@example.com" } }), 409, "conflict");
    expect(await counts()).toEqual([1, 1]);
  });

  it("writes no event when a change fails (409)", async () => {
    const t = await h.signUp();
    await newContact(t.token, { email: "x@example.com" });
    const { events } = await import("../../schema");
    const { and, eq } = await import("drizzle-orm");
    const before = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.created")));
    await h.call("POST", "/v1/contacts", { token: t.token, body: { email: "x@example.com" } });
    const after = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "contact.created")));
    expect(after.length).toBe(before.length);
  });
});
