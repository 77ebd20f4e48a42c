import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sendMessage } from "../../functions/conversations/messages.service";
import { Message } from "../../functions/conversations/schemas";
import { conversations, events, messages } from "../../schema";
import { createHarness, expectError } from "../support/harness";
import { createConversation, eventsOf, seedChannel, seedContact } from "./fixtures";

const h = await createHarness();

const send = (token: string, convId: string, body: Record<string, unknown>) => h.call("POST", `/v1/conversations/${convId}/messages`, { token, body });
const get = async (token: string, convId: string) => (await h.call("GET", `/v1/conversations/${convId}`, { token, headers: {} })).body;

describe("POST /v1/conversations/{id}/messages", () => {
  it("stores a contact message and moves the counters", async () => {
    const t = await h.signUp();
    const ct = await seedContact(h, t);
    const conv = await createConversation(h, t, { contact_id: ct });
    const r = await send(t.token, conv.id, { content: "My order is late", sender_type: "contact" });
    expect(r.status).toBe(201);
    Message.parse(r.body);
    expect(r.body).toMatchObject({ conversation_id: conv.id, sender_type: "contact", sender_id: ct, content: "My order is late", status: "complete", attachment_ids: [] });
    const after = await get(t.token, conv.id);
    expect(after).toMatchObject({ unread_count: 1, message_count: 1, first_response_at: null, last_message_at: r.body.created_at });
    const ev = (await eventsOf(h, r.body.id))[0];
    expect(ev).toMatchObject({ type: "message.created", data: { conversation_id: conv.id, sender_type: "contact" } });
    expect(ev?.data.deliver).toBeUndefined();
  });

  it("the first agent message sets first_response_at, later ones keep it", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    await send(t.token, conv.id, { content: "hello?", sender_type: "contact" });
    const first = await send(t.token, conv.id, { content: "Hi!", sender_type: "agent" });
    expect(first.body.sender_id).toBe(t.agentId);
    await send(t.token, conv.id, { content: "Anything else?", sender_type: "agent" });
    const c = await get(t.token, conv.id);
    expect(c.first_response_at).toBe(first.body.created_at);
    expect(c.message_count).toBe(3);
  });

  it("a note is private: no unread, no first response, no last_message_at, never delivered", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t, { source: "email" });
    const r = await send(t.token, conv.id, { content: "internal: VIP customer", sender_type: "note" });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe("complete");
    const c = await get(t.token, conv.id);
    expect(c).toMatchObject({ unread_count: 0, message_count: 1, first_response_at: null, last_message_at: null });
    expect((await eventsOf(h, r.body.id))[0]?.data.deliver).toBeUndefined();
  });

  it("an agent message on an email or WhatsApp conversation is queued for delivery (outbox event)", async () => {
    const t = await h.signUp();
    for (const source of ["email", "whatsapp"]) {
      const channel = await seedChannel(h, t, source as "email" | "whatsapp");
      const conv = await createConversation(h, t, { source, channel_id: channel });
      // WhatsApp free text needs the customer's 24 h window (tests/whatsapp): a template does not.
      const body = source === "whatsapp" ? { template: { name: "hello", language: "en" }, sender_type: "agent" } : { content: "Reply", sender_type: "agent" };
      const r = await send(t.token, conv.id, body);
      expect(r.body.status).toBe("queued");
      expect((await eventsOf(h, r.body.id))[0]?.data).toMatchObject({ deliver: true, channel: source, channel_id: channel });
    }
    const web = await createConversation(h, t, { source: "web" });
    const r = await send(t.token, web.id, { content: "Reply", sender_type: "agent" });
    expect(r.body.status).toBe("complete");
    expect((await eventsOf(h, r.body.id))[0]?.data.deliver).toBeUndefined();
  });

  it("60 concurrent contact messages leave exactly 60 unread and 60 messages", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => send(t.token, conv.id, { content: `msg ${i}`, sender_type: "contact" })));
    expect(replies.map((r) => r.status)).toEqual(Array(60).fill(201));
    const c = await get(t.token, conv.id);
    expect(c.unread_count).toBe(60);
    expect(c.message_count).toBe(60);
    const list = await h.call("GET", `/v1/conversations/${conv.id}/messages?per_page=100`, { token: t.token });
    expect(list.body.meta.total).toBe(60);
  });

  it("422 for a missing content, an unknown sender_type, bad attachment ids; 404 for an unknown conversation", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const err = expectError(await send(t.token, conv.id, { sender_type: "robot", attachment_ids: ["x y"] }), 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["attachment_ids.0", "content", "sender_type"]);
    expectError(await send(t.token, conv.id, { content: "x", sender_type: "system" }), 422, "validation_error");
    expectError(await send(t.token, "conv_missing", { content: "x", sender_type: "agent" }), 404, "not_found");
  });

  it("a conversation deleted after the route read it: 404, and neither the message nor its event is written", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const [row] = await h.services.db.select().from(conversations).where(eq(conversations.id, conv.id));
    expect((await h.call("DELETE", `/v1/conversations/${conv.id}`, { token: t.token })).status).toBe(200);
    // The route's read saw the row; the write comes after the delete (what a race between the two does).
    const err = await sendMessage(h.services.db, row!, { content: "too late", sender_type: "contact" }, { actor: "test" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "not_found" });
    expect(await h.services.db.select().from(messages).where(eq(messages.workspaceId, t.workspaceId))).toEqual([]);
    expect(await h.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "message.created")))).toEqual([]);
  });

  it("refuses attachment ids that are not files of the workspace (tests/files/attachments.test.ts covers the rest)", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const r = await send(t.token, conv.id, { content: "see file", sender_type: "agent", attachment_ids: ["file_01abc"] });
    expect(r.status).toBe(422);
    expect(Object.keys(r.body.error.details.fields)).toEqual(["attachment_ids.0"]);
  });
});

describe("GET /v1/conversations/{id}/messages", () => {
  it("lists oldest first with pagination, and `since` returns only newer messages", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const sent: Array<{ content: string; created_at: string }> = [];
    for (let i = 0; i < 5; i++) sent.push((await send(t.token, conv.id, { content: `m${i}`, sender_type: i % 2 ? "agent" : "contact" })).body);
    const page1 = await h.call("GET", `/v1/conversations/${conv.id}/messages?per_page=2`, { token: t.token });
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((m: any) => m.content)).toEqual(["m0", "m1"]);
    expect(page1.body.meta).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 });
    const page3 = await h.call("GET", `/v1/conversations/${conv.id}/messages?per_page=2&page=3`, { token: t.token });
    expect(page3.body.data.map((m: any) => m.content)).toEqual(["m4"]);
    expect(page3.body.links.next).toBeNull();

    const since = await h.call("GET", `/v1/conversations/${conv.id}/messages?since=${encodeURIComponent(sent[2]!.created_at)}`, { token: t.token });
    const newer = sent.filter((m) => Date.parse(m.created_at) > Date.parse(sent[2]!.created_at)).map((m) => m.content);
    expect(since.body.data.map((m: any) => m.content)).toEqual(newer);
    const future = await h.call("GET", `/v1/conversations/${conv.id}/messages?since=2999-01-01T00:00:00Z`, { token: t.token });
    expect(future.body.data).toEqual([]);
    expect(future.body.links.first).toContain("since=2999");
  });

  it("400 for a bad `since`, 404 for an unknown conversation", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const err = expectError(await h.call("GET", `/v1/conversations/${conv.id}/messages?since=yesterday`, { token: t.token }), 400, "bad_request");
    expect(err.details.fields.since).toBeDefined();
    expectError(await h.call("GET", "/v1/conversations/conv_missing/messages", { token: t.token }), 404, "not_found");
  });
});
