import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { CaptureResult } from "../../functions/conversations/schemas";
import { conversations, messages } from "../../schema";
import { createHarness, expectError, type Tenant, unique } from "../support/harness";
import { createConversation, eventsOf, seedContact, seedSession } from "./fixtures";

const h = await createHarness();

const capture = (t: Tenant, msgs: unknown[]) => h.call("POST", "/v1/messages/capture", { token: t.token, body: { messages: msgs } });
const convCount = async (t: Tenant) => (await h.services.db.select({ n: count() }).from(conversations).where(eq(conversations.workspaceId, t.workspaceId)))[0]!.n;
const msgCount = async (t: Tenant) => (await h.services.db.select({ n: count() }).from(messages).where(eq(messages.workspaceId, t.workspaceId)))[0]!.n;

describe("POST /v1/messages/capture", () => {
  it("stores messages into a given conversation with occurred_at as created_at, and moves counters", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const r = await capture(t, [
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "hello", external_id: "e1", occurred_at: "2026-01-01T10:00:00Z" },
      { conversation_id: conv.id, source: "api", sender_type: "agent", content: "hi there", external_id: "e2", occurred_at: "2026-01-01T10:05:00+00:00" },
    ]);
    expect(r.status).toBe(200);
    CaptureResult.parse(r.body);
    expect(r.body).toMatchObject({ captured: 2, duplicates: 0 });
    expect(r.body.items.map((i: any) => i.external_id)).toEqual(["e1", "e2"]);
    const listed = await h.call("GET", `/v1/conversations/${conv.id}/messages`, { token: t.token });
    expect(listed.body.data.map((m: any) => [m.content, m.created_at, m.external_id])).toEqual([
      ["hello", "2026-01-01T10:00:00.000Z", "e1"],
      ["hi there", "2026-01-01T10:05:00.000Z", "e2"],
    ]);
    const c = (await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token })).body;
    expect(c).toMatchObject({ message_count: 2, unread_count: 1, first_response_at: "2026-01-01T10:05:00.000Z", last_message_at: "2026-01-01T10:05:00.000Z" });
    const ev = await eventsOf(h, r.body.items[0].id);
    expect(ev[0]).toMatchObject({ type: "message.created", data: { conversation_id: conv.id, captured: true } });
  });

  it("keeps messages sent without occurred_at in the order they were sent (they share one created_at)", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const sent = Array.from({ length: 40 }, (_, i) => `message ${i}`);
    const r = await capture(t, sent.map((content) => ({ conversation_id: conv.id, source: "api", sender_type: "contact", content })));
    expect(r.status).toBe(200);
    const listed = await h.call("GET", `/v1/conversations/${conv.id}/messages?per_page=100`, { token: t.token });
    expect(listed.body.data.map((m: any) => m.content)).toEqual(sent);
    expect(new Set(listed.body.data.map((m: any) => m.created_at)).size).toBe(1);
    expect(r.body.items.map((i: any) => i.id)).toEqual(listed.body.data.map((m: any) => m.id));
  });

  it("deduplicates by external_id across requests and within one request", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const ext = unique("ext");
    const first = await capture(t, [{ conversation_id: conv.id, source: "api", sender_type: "contact", content: "a", external_id: ext }]);
    const again = await capture(t, [
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "a", external_id: ext },
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "b", external_id: `${ext}-2` },
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "b again", external_id: `${ext}-2` },
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "no id" },
    ]);
    expect(again.body).toMatchObject({ captured: 2, duplicates: 2 });
    expect(again.body.items[0]).toMatchObject({ external_id: ext, id: first.body.items[0].id, duplicate: true });
    expect(again.body.items[1].duplicate).toBeUndefined();
    expect(again.body.items[2]).toMatchObject({ id: again.body.items[1].id, duplicate: true });
    expect(again.body.items[3]).toMatchObject({ external_id: null });
    expect(await msgCount(t)).toBe(3);
    const c = (await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token, headers: {} })).body;
    expect(c.message_count).toBe(3);

    // Another workspace may use the same external id.
    const other = await h.signUp();
    const otherConv = await createConversation(h, other);
    const r = await capture(other, [{ conversation_id: otherConv.id, source: "api", sender_type: "contact", content: "a", external_id: ext }]);
    expect(r.body).toMatchObject({ captured: 1, duplicates: 0 });
  });

  it("addresses by session: its open conversation, else a new one (one per session per request)", async () => {
    const t = await h.signUp();
    const ct = await seedContact(h, t);
    const ses = await seedSession(h, t, ct);
    const r = await capture(t, [
      { session_id: ses, source: "web", sender_type: "contact", content: "Where is my order?\nThanks" },
      { session_id: ses, source: "web", sender_type: "assistant", content: "Let me check." },
    ]);
    expect(r.body.captured).toBe(2);
    const convId = r.body.items[0].conversation_id;
    expect(r.body.items[1].conversation_id).toBe(convId);
    const c = (await h.call("GET", `/v1/conversations/${convId}`, { token: t.token })).body;
    expect(c).toMatchObject({ title: "Where is my order?", session_id: ses, contact_id: ct, source: "web", message_count: 2 });
    expect((await eventsOf(h, convId)).map((e) => e.type)).toContain("conversation.created");

    const later = await capture(t, [{ session_id: ses, source: "web", sender_type: "contact", content: "Any news?" }]);
    expect(later.body.items[0].conversation_id).toBe(convId);
    // Once resolved, the next message starts a new conversation.
    await h.call("POST", `/v1/conversations/${convId}/status`, { token: t.token, body: { status: "resolved" } });
    const after = await capture(t, [{ session_id: ses, source: "web", sender_type: "contact", content: "One more thing" }]);
    expect(after.body.items[0].conversation_id).not.toBe(convId);
  });

  it("addresses by contact: their latest open conversation, else a new one", async () => {
    const t = await h.signUp();
    const ct = await seedContact(h, t);
    const r = await capture(t, [{ contact_id: ct, source: "whatsapp", sender_type: "contact", content: "Hi" }]);
    const created = r.body.items[0].conversation_id;
    expect((await h.call("GET", `/v1/conversations/${created}`, { token: t.token })).body).toMatchObject({ contact_id: ct, source: "whatsapp", session_id: null });
    const older = await createConversation(h, t, { contact_id: ct });
    await capture(t, [{ conversation_id: created, source: "whatsapp", sender_type: "contact", content: "newer activity" }]);
    const next = await capture(t, [{ contact_id: ct, source: "whatsapp", sender_type: "contact", content: "again" }]);
    expect(next.body.items[0].conversation_id).toBe(created);
    expect(older.id).not.toBe(created);
  });

  it("is all-or-nothing: one bad reference → 422 naming its index, nothing written", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const conv = await createConversation(h, t);
    const ses = await seedSession(h, t);
    const foreign = await createConversation(h, other);
    const before = [await convCount(t), await msgCount(t)];
    const r = await capture(t, [
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "ok", external_id: unique("x") },
      { session_id: ses, source: "web", sender_type: "contact", content: "would start a conversation" },
      { conversation_id: conv.id, source: "api", sender_type: "contact", content: "ok" },
      { conversation_id: foreign.id, source: "api", sender_type: "contact", content: "not yours" },
      { contact_id: "ct_missing", source: "api", sender_type: "contact", content: "nobody" },
    ]);
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["messages.3.conversation_id", "messages.4.contact_id"]);
    expect([await convCount(t), await msgCount(t)]).toEqual(before);
  });

  it("422 for schema problems: addressing, sizes, types", async () => {
    const t = await h.signUp();
    let err = expectError(await capture(t, []), 422, "validation_error");
    expect(err.details.fields.messages).toBeDefined();
    const many = Array.from({ length: 101 }, () => ({ contact_id: "ct_x", source: "api", sender_type: "contact", content: "x" }));
    expectError(await capture(t, many), 422, "validation_error");
    err = expectError(
      await capture(t, [
        { source: "api", sender_type: "contact", content: "nowhere" },
        { conversation_id: "conv_a", session_id: "ses_b", source: "api", sender_type: "contact", content: "two places" },
        { contact_id: "ct_a", source: "fax", sender_type: "bot", content: "", occurred_at: "yesterday" },
      ]),
      422,
      "validation_error",
    );
    expect(Object.keys(err.details.fields).sort()).toEqual([
      "messages.0.conversation_id",
      "messages.1.conversation_id",
      "messages.2.content",
      "messages.2.occurred_at",
      "messages.2.sender_type",
      "messages.2.source",
    ]);
  });
});
