import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { Tag, TagWithCounts } from "../../functions/tags/schemas";
import { listOf } from "../../lib/openapi";
import { events } from "../../schema";
import { createHarness, expectError } from "../support/harness";
import { agentToken } from "../support/tenancy";

const h = await createHarness();

const post = async (token: string, path: string, body: unknown, status = 201) => {
  const r = await h.call("POST", path, { token, body });
  expect(r.status, r.text).toBe(status);
  return r.body;
};

describe("workspace tags", () => {
  it("creates, gets, lists with counts, updates and deletes a tag", async () => {
    const t = await h.signUp();
    const tag = await post(t.token, "/v1/tags", { name: " VIP ", color: "#E11D48", description: "Big customers" });
    expect(TagWithCounts.parse(tag)).toBeTruthy();
    expect(tag).toMatchObject({ name: "VIP", color: "#e11d48", description: "Big customers", counts: { contacts: 0, sessions: 0, conversations: 0 } });

    const c = await post(t.token, "/v1/contacts", { name: "A" });
    const s = await post(t.token, "/v1/sessions", {});
    await post(t.token, `/v1/contacts/${c.id}/tags`, { tag: "vip" });
    await post(t.token, `/v1/sessions/${s.id}/tags`, { tag: "Vip" });

    const list = await h.call("GET", "/v1/tags", { token: t.token });
    expect(list.status).toBe(200);
    expect(listOf(TagWithCounts).parse(list.body)).toBeTruthy();
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].counts).toEqual({ contacts: 1, sessions: 1, conversations: 0 });
    expect(list.body.meta.total).toBe(1);

    const got = await h.call("GET", `/v1/tags/${tag.id}`, { token: t.token });
    expect(got.body.counts.contacts).toBe(1);

    const patched = await h.call("PATCH", `/v1/tags/${tag.id}`, { token: t.token, body: { name: "Very Important", color: null, description: null } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ id: tag.id, name: "Very Important", color: null, description: null });

    const del = await h.call("DELETE", `/v1/tags/${tag.id}`, { token: t.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ deleted: true, id: tag.id });
    expectError(await h.call("GET", `/v1/tags/${tag.id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/tags/${tag.id}`, { token: t.token }), 404, "not_found");
  });

  it("deleting a tag removes it everywhere and writes tag.removed for each entity", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", { name: "A" });
    const s = await post(t.token, "/v1/sessions", {});
    const tag = await post(t.token, `/v1/contacts/${c.id}/tags`, { tag: "temp" });
    await post(t.token, `/v1/sessions/${s.id}/tags`, { tag: "temp" }, 201);
    await h.call("DELETE", `/v1/tags/${tag.id}`, { token: t.token });
    expect((await h.call("GET", `/v1/contacts/${c.id}`, { token: t.token })).body.tags).toEqual([]);
    expect((await h.call("GET", `/v1/sessions/${s.id}/tags`, { token: t.token })).body.data).toEqual([]);
    expect((await h.call("GET", "/v1/contacts?tag=temp", { token: t.token })).body.data).toEqual([]);
    const removed = await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "tag.removed")));
    expect(removed.map((e) => e.entityId).sort()).toEqual([c.id, s.id].sort());
  });

  it("name is unique per workspace case-insensitively: 409 with the existing tag's id", async () => {
    const t = await h.signUp();
    const a = await post(t.token, "/v1/tags", { name: "Billing" });
    const dup = expectError(await h.call("POST", "/v1/tags", { token: t.token, body: { name: "billing " } }), 409, "conflict");
    expect(dup.details).toMatchObject({ existing_tag_id: a.id, fields: { name: expect.any(Array) } });
    const b = await post(t.token, "/v1/tags", { name: "Sales" });
    const ren = expectError(await h.call("PATCH", `/v1/tags/${b.id}`, { token: t.token, body: { name: "BILLING" } }), 409, "conflict");
    expect(ren.details.existing_tag_id).toBe(a.id);
    // Renaming a tag to its own name in another case is fine.
    expect((await h.call("PATCH", `/v1/tags/${a.id}`, { token: t.token, body: { name: "billing" } })).body.name).toBe("billing");
    // Another workspace may use the same name.
    const other = await h.signUp();
    await post(other.token, "/v1/tags", { name: "Billing" });
  });

  it("lists every validation problem", async () => {
    const t = await h.signUp();
    const err = expectError(await h.call("POST", "/v1/tags", { token: t.token, body: { name: "", color: "red", description: 5 } }), 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["color", "description", "name"]);
    const long = expectError(await h.call("POST", "/v1/tags", { token: t.token, body: { name: "x".repeat(65) } }), 422, "validation_error");
    expect(Object.keys(long.details.fields)).toEqual(["name"]);
    expectError(await h.call("PATCH", "/v1/tags/tag_missing", { token: t.token, body: { name: "x" } }), 404, "not_found");
  });

  it("sorts and paginates", async () => {
    const t = await h.signUp();
    for (const n of ["b", "C", "a"]) await post(t.token, "/v1/tags", { name: n });
    const byName = await h.call("GET", "/v1/tags?sort=name", { token: t.token });
    expect(byName.body.data.map((x: { name: string }) => x.name)).toEqual(["a", "b", "C"]);
    const page = await h.call("GET", "/v1/tags?per_page=2&page=2", { token: t.token });
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, total_pages: 2 });
    expect(page.body.data.map((x: { name: string }) => x.name)).toEqual(["b"]);
    expectError(await h.call("GET", "/v1/tags?sort=color", { token: t.token }), 400, "bad_request");
  });

  it("any agent may manage tags", async () => {
    const t = await h.signUp();
    const agent = await agentToken(h, t, "agent");
    const tag = await post(agent.token, "/v1/tags", { name: "by-agent" });
    expect((await h.call("PATCH", `/v1/tags/${tag.id}`, { token: agent.token, body: { color: "#000000" } })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/tags/${tag.id}`, { token: agent.token })).status).toBe(200);
  });
});

describe("entity tags on contacts and sessions", () => {
  for (const kind of ["contacts", "sessions"] as const) {
    it(`${kind}: adds by name (auto-creating), lists, is idempotent, removes by name or id`, async () => {
      const t = await h.signUp();
      const e = await post(t.token, `/v1/${kind}`, {});
      const added = await h.call("POST", `/v1/${kind}/${e.id}/tags`, { token: t.token, body: { tag: "Brand New" } });
      expect(added.status).toBe(201);
      expect(Tag.parse(added.body).name).toBe("Brand New");
      const again = await h.call("POST", `/v1/${kind}/${e.id}/tags`, { token: t.token, body: { tag: "brand new" } });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(added.body.id);
      await post(t.token, `/v1/${kind}/${e.id}/tags`, { tag: "second" });
      const ws = await h.call("GET", "/v1/tags", { token: t.token });
      expect(ws.body.data.map((x: { name: string }) => x.name).sort()).toEqual(["Brand New", "second"]);

      const list = await h.call("GET", `/v1/${kind}/${e.id}/tags`, { token: t.token });
      expect(listOf(Tag).parse(list.body)).toBeTruthy();
      expect(list.body.data.map((x: { name: string }) => x.name)).toEqual(["Brand New", "second"]);
      expect(list.body.meta.total).toBe(2);

      const byName = await h.call("DELETE", `/v1/${kind}/${e.id}/tags/${encodeURIComponent("BRAND new")}`, { token: t.token });
      expect(byName.status, byName.text).toBe(200);
      expect(byName.body).toEqual({ deleted: true, id: added.body.id });
      const second = list.body.data[1];
      expect((await h.call("DELETE", `/v1/${kind}/${e.id}/tags/${second.id}`, { token: t.token })).status).toBe(200);
      expectError(await h.call("DELETE", `/v1/${kind}/${e.id}/tags/second`, { token: t.token }), 404, "not_found");
      // The workspace tags stay.
      expect((await h.call("GET", "/v1/tags", { token: t.token })).body.meta.total).toBe(2);

      const evs = await h.services.db.select().from(events).where(eq(events.entityId, e.id)).orderBy(events.createdAt, events.id);
      expect(evs.map((x) => x.type).filter((x) => x.startsWith("tag."))).toEqual(["tag.added", "tag.added", "tag.removed", "tag.removed"]);

      expectError(await h.call("POST", `/v1/${kind}/${e.id}/tags`, { token: t.token, body: { tag: "" } }), 422, "validation_error");
      expectError(await h.call("POST", `/v1/${kind}/${e.id}/tags`, { token: t.token, body: {} }), 422, "validation_error");
      expectError(await h.call("GET", `/v1/${kind}/nope/tags`, { token: t.token }), 404, "not_found");
      expectError(await h.call("POST", `/v1/${kind}/nope/tags`, { token: t.token, body: { tag: "x" } }), 404, "not_found");
    });
  }

  it("removes tags whose names need URL-encoding (/, %, ?, #, unicode)", async () => {
    const t = await h.signUp();
    const c = await post(t.token, "/v1/contacts", {});
    for (const name of ["a/b", "50% off", "ünï 😀", "a?b#c"]) {
      const added = await post(t.token, `/v1/contacts/${c.id}/tags`, { tag: name });
      const r = await h.call("DELETE", `/v1/contacts/${c.id}/tags/${encodeURIComponent(name)}`, { token: t.token });
      expect(r.status, `${name}: ${r.text}`).toBe(200);
      expect(r.body.id).toBe(added.id);
    }
  });

  it("a failed tagging of a missing entity creates no workspace tag", async () => {
    const t = await h.signUp();
    await h.call("POST", "/v1/contacts/ct_missing/tags", { token: t.token, body: { tag: "ghost" } });
    expect((await h.call("GET", "/v1/tags", { token: t.token })).body.data).toEqual([]);
  });
});
