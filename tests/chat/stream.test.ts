// POST /v1/chat/stream against the fake OpenAI server: real usage, failures mid-stream,
// client disconnects, timeouts, Last-Event-ID replay, heartbeats, sessions and tenancy.
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { rowsOf } from "../../lib/db";
import { conversations, events, llmUsage, messages, sessions } from "../../schema";
import { startFakeOpenAI } from "../support/fake-openai";
import { createHarness, expectError } from "../support/harness";
import { createAssistant, eventsOnly, eventually, openStream, parseSse, readEvents, sseReader, textOf } from "./helpers";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
const llmEnv = { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_ALLOWED_MODELS: "fake-gpt, fake-large", OPENAI_MAX_RETRIES: "0", CHAT_HEARTBEAT_MS: "40" };
// A model deadline no test meets by accident on a loaded host (the first call of a file is cold),
// and a short one for the test that waits for it.
const h = await createHarness({ ...llmEnv, OPENAI_TIMEOUT_MS: "10000" });
const hShortDeadline = await createHarness({ ...llmEnv, OPENAI_TIMEOUT_MS: "400" });
beforeEach(() => fake.reset());

const { db } = h.services;
const messagesOf = (conversationId: string) => db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(messages.createdAt);

describe("chat stream over an OpenAI-compatible provider", () => {
  it("relays the provider's chunks, with its usage, and prepends the assistant's instructions and knowledge", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token, { model: "fake-large", temperature: 0.7 });
    fake.enqueue({ text: "Refunds take five days.", usage: { prompt_tokens: 30, completion_tokens: 6 } });
    const r = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "refund time?", assistant_id: a.id } });
    expect(r.status).toBe(200);
    // What came before the model call, timed by the server.
    const timing = r.headers.get("server-timing") ?? "";
    expect(timing).toMatch(/^pipeline;dur=\d+\.\d{2};desc="[^"]+", store;dur=\d+\.\d{2};desc="user message stored"$/);
    const evs = eventsOnly(parseSse(r.text));
    expect(evs.map((e) => e.event)).toEqual(["message_start", "delta", "delta", "delta", "delta", "message_end"]);
    expect(textOf(evs)).toBe("Refunds take five days.");
    expect(evs.at(-1)!.data).toMatchObject({ model: "fake-large", usage: { prompt_tokens: 30, completion_tokens: 6, total_tokens: 36, estimated: false } });

    const sent = fake.requests[0]!.body;
    expect(sent).toMatchObject({ model: "fake-large", temperature: 0.7, stream: true });
    expect(sent.messages[0]).toMatchObject({ role: "system" });
    expect(sent.messages[0].content).toContain("Answer briefly.");
    expect(sent.messages[0].content).toContain("Refunds are processed within 5 business days.");
    expect(sent.messages.at(-1)).toEqual({ role: "user", content: "refund time?" });

    const [u] = await db.select().from(llmUsage).where(and(eq(llmUsage.workspaceId, t.workspaceId), eq(llmUsage.model, "fake-large")));
    expect(u).toMatchObject({ promptTokens: 30, completionTokens: 6, requests: 1 });
  });

  it("continues a conversation with its history, and adds usage up per day and model", async () => {
    const t = await h.signUp();
    const first = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "first question" } })).text));
    const conversationId = first[0]!.data.conversation_id;
    fake.enqueue({ text: "second answer", usage: { prompt_tokens: 5, completion_tokens: 2 } });
    const second = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "second question", conversation_id: conversationId } })).text));
    expect(second[0]!.data.conversation_id).toBe(conversationId);
    expect(fake.requests[1]!.body.messages.slice(1)).toEqual([
      { role: "user", content: "first question" },
      { role: "assistant", content: "Hello from the fake model." },
      { role: "user", content: "second question" },
    ]);
    const [conv] = await db.select().from(conversations).where(eq(conversations.id, conversationId));
    expect(conv).toMatchObject({ messageCount: 4, unreadCount: 2, title: "first question" });
    const [u] = await db.select().from(llmUsage).where(eq(llmUsage.workspaceId, t.workspaceId));
    expect(u!.requests).toBe(2);
    expect(u!.day).toBe(new Date().toISOString().slice(0, 10));
  });

  it("on a provider failure mid-stream: error event, user message kept, partial reply stored incomplete", async () => {
    const t = await h.signUp();
    fake.enqueue({ text: "one two three four five", failAfter: { chunks: 2, how: "destroy" } });
    const r = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "tell me" } });
    const evs = eventsOnly(parseSse(r.text));
    expect(evs.map((e) => e.event)).toEqual(["message_start", "delta", "delta", "error"]);
    expect(evs.at(-1)!.data).toMatchObject({ code: "service_unavailable" });
    expect(typeof evs.at(-1)!.data.message).toBe("string");
    const rows = await messagesOf(evs[0]!.data.conversation_id);
    expect(rows.map((m) => [m.senderType, m.status, m.content])).toEqual([
      ["contact", "complete", "tell me"],
      ["assistant", "incomplete", "one two "],
    ]);
    expect(rows[1]!.id).toBe(evs[0]!.data.message_id);
  });

  it("when the provider fails before any token: error event, the user message kept", async () => {
    const t = await h.signUp();
    fake.enqueue({ status: 500 });
    const evs = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "hello?" } })).text));
    expect(evs.map((e) => e.event)).toEqual(["message_start", "error"]);
    const rows = await messagesOf(evs[0]!.data.conversation_id);
    expect(rows.map((m) => [m.senderType, m.status])).toEqual([
      ["contact", "complete"],
      ["assistant", "incomplete"],
    ]);
  });

  it("on a provider timeout: error event (stream) — the provider hangs", async () => {
    const t = await hShortDeadline.signUp();
    fake.enqueue({ hang: true });
    const evs = eventsOnly(parseSse((await hShortDeadline.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "anyone?" } })).text));
    expect(evs.map((e) => e.event)).toEqual(["message_start", "error"]);
    expect(evs[1]!.data.code).toBe("service_unavailable");
    expect(evs[1]!.data.message).toMatch(/in time/);
  });

  it("stores the reply as far as it got when the client disconnects", async () => {
    const t = await h.signUp();
    fake.enqueue({ chunks: 200, chunkDelayMs: 10 });
    const ac = new AbortController();
    const res = await openStream(h, t.token, { message: "long answer please" }, { signal: ac.signal });
    const got = await readEvents(res, (_e, all) => all.filter((x) => x.event === "delta").length >= 3);
    ac.abort();
    const start = got.find((e) => e.event === "message_start")!.data;
    const stored = await eventually(async () => (await messagesOf(start.conversation_id)).find((m) => m.id === start.message_id), "the incomplete reply");
    expect(stored.status).toBe("incomplete");
    expect(stored.content.length).toBeGreaterThan(0);
    expect(stored.content.split(/\s+/).filter(Boolean).length).toBeLessThan(200);
    // The upstream call was closed too.
    await eventually(async () => fake.open() === 0, "upstream closed");
  });

  it("when the conversation is deleted while the model answers: an error event, no reply or event stored, the tokens counted", async () => {
    const t = await h.signUp();
    // The model holds the rest of its answer until the conversation is deleted (however slow the host).
    let deleted!: () => void;
    const until = new Promise<void>((resolve) => (deleted = resolve));
    fake.enqueue({ text: "a b c d e f", pauseAfter: { chunks: 1, until }, usage: { prompt_tokens: 9, completion_tokens: 6 } });
    const a = sseReader(await openStream(h, t.token, { message: "delete me while you answer" }));
    const start = (await a.next())!;
    expect(start.event).toBe("message_start");
    const { conversation_id: conversationId, message_id: messageId } = start.data;
    expect((await h.call("DELETE", `/v1/conversations/${conversationId}`, { token: t.token })).status).toBe(200);
    deleted();
    const rest = eventsOnly(await a.rest());
    expect(rest.at(-1)).toMatchObject({ event: "error", data: { code: "not_found", message: "The conversation was deleted before the reply was stored." } });
    expect(await db.select().from(messages).where(eq(messages.id, messageId))).toEqual([]);
    const created = await db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.entityId, messageId)));
    expect(created).toEqual([]);
    const usage = await db.select().from(llmUsage).where(eq(llmUsage.workspaceId, t.workspaceId));
    expect(usage).toMatchObject([{ model: "fake-gpt", promptTokens: 9, completionTokens: 6, requests: 1 }]);
  });

  it("sends heartbeat comments while the model is slow", async () => {
    const t = await h.signUp();
    fake.enqueue({ delayMs: 200 });
    const r = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "slow" } });
    const all = parseSse(r.text);
    expect(all.filter((e) => e.comment === "heartbeat").length).toBeGreaterThanOrEqual(2);
    expect(eventsOnly(all).at(-1)!.event).toBe("message_end");
  });

  it("with Last-Event-ID, follows a live stream from where the client is to its end", async () => {
    const t = await h.signUp();
    fake.enqueue({ text: "a b c d e f g h", chunkDelayMs: 50 });
    const a = sseReader(await openStream(h, t.token, { message: "follow me" }));
    const nextEvent = async () => {
      for (let e = await a.next(); e; e = await a.next()) if (e.event) return e;
      throw new Error("stream ended");
    };
    const start = await nextEvent();
    const firstDelta = await nextEvent();
    expect([start.event, firstDelta.event]).toEqual(["message_start", "delta"]);
    // A second reader (another tab, or the same client after a drop Parley did not notice) joins mid-stream.
    const b = sseReader(await openStream(h, t.token, { message: "follow me" }, { headers: { "last-event-id": firstDelta.id! } }));
    const [restA, restB] = await Promise.all([a.rest(), b.rest()]);
    expect(eventsOnly(restB)).toEqual(eventsOnly(restA));
    expect(eventsOnly(restB).length).toBeGreaterThanOrEqual(8);
    expect(eventsOnly(restB).at(-1)).toMatchObject({ event: "message_end", data: { status: "complete" } });
  });

  it("with Last-Event-ID after a disconnect, replays what was produced and ends incomplete; nothing new is stored", async () => {
    const t = await h.signUp();
    fake.enqueue({ text: "a b c d e f g h", chunkDelayMs: 60 });
    const ac = new AbortController();
    const res = await openStream(h, t.token, { message: "resume me" }, { signal: ac.signal });
    const first = await readEvents(res, (_e, all) => all.filter((x) => x.event === "delta").length >= 2);
    ac.abort();
    const messageId = first[0]!.data.message_id;
    const lastId = first.filter((e) => e.id).at(-1)!.id!;
    expect(lastId).toBe(`${messageId}:3`);
    const stored = await eventually(async () => (await messagesOf(first[0]!.data.conversation_id)).find((m) => m.id === messageId), "stored reply");

    const rest = eventsOnly(await readEvents(await openStream(h, t.token, { message: "resume me" }, { headers: { "last-event-id": lastId } })));
    expect(rest.map((e) => e.id)).toEqual(rest.map((_e, i) => `${messageId}:${i + 4}`));
    expect(rest.at(-1)).toMatchObject({ event: "message_end", data: { message_id: messageId, status: "incomplete" } });
    expect(first.filter((e) => e.event === "delta").map((e) => e.data.text).join("") + textOf(rest)).toBe(stored.content);
    const rows = await messagesOf(first[0]!.data.conversation_id);
    expect(rows.map((m) => m.senderType)).toEqual(["contact", "assistant"]);

    // A finished stream replays entirely from any point.
    const full = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" } });
    const fullEvents = eventsOnly(parseSse(full.text));
    const replay = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" }, headers: { "last-event-id": fullEvents[0]!.id! } });
    expect(eventsOnly(parseSse(replay.text))).toEqual(fullEvents.slice(1));
  });

  it("refuses a bad or unknown Last-Event-ID, and another workspace's stream", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" }, headers: { "last-event-id": "nonsense" } }), 400, "bad_request");
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" }, headers: { "last-event-id": "msg_0000000000aaaaaaaaaaaaaaaa:1" } }), 404, "not_found");
    const mine = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" } })).text));
    expectError(await h.call("POST", "/v1/chat/stream", { token: other.token, body: { message: "x" }, headers: { "last-event-id": mine[0]!.id! } }), 404, "not_found");
  });

  it("links a session's chat to the session and its contact, and continues it", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const started = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "Visitor@Example.com", name: "Vi" } } });
    expect(started.status).toBe(201);
    const { session_id, conversation_id, contact_id } = started.body;
    const evs = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "hi", session_id } })).text));
    expect(evs[0]!.data.conversation_id).toBe(conversation_id);
    const [conv] = await db.select().from(conversations).where(eq(conversations.id, conversation_id));
    expect(conv).toMatchObject({ sessionId: session_id, contactId: contact_id, assistantId: a.id });
    const rows = await messagesOf(conversation_id);
    expect(rows[0]).toMatchObject({ senderType: "contact", senderId: contact_id });
    expect(fake.requests[0]!.body.messages[0].content).toContain("Refunds are processed");

    // A fresh session (no conversation yet) gets a conversation linked to it.
    const [s] = await db.insert(sessions).values({ id: `ses_${"0".repeat(10)}${Math.random().toString(36).slice(2, 18).padEnd(16, "x")}`, workspaceId: t.workspaceId, contactId: contact_id }).returning();
    const evs2 = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "new thread", session_id: s!.id } })).text));
    const [conv2] = await db.select().from(conversations).where(eq(conversations.id, evs2[0]!.data.conversation_id));
    expect(conv2).toMatchObject({ sessionId: s!.id, contactId: contact_id, source: "chat", title: "new thread" });
  });

  it("a database failure while storing the user message is a 503 and leaves nothing half-written", async () => {
    const t = await h.signUp();
    const first = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "before the outage" } })).text));
    const convId = first[0]!.data.conversation_id as string;
    const [before] = await db.select().from(conversations).where(eq(conversations.id, convId));
    const tsvOf = async (id: string) => rowsOf<{ v: string }>(await db.execute(sql`select messages_tsv::text as v from conversations where id = ${id}`))[0]?.v;
    const tsvBefore = await tsvOf(convId);
    expect(tsvBefore).toContain("outag");
    const eventCount = async () => (await db.select().from(events).where(eq(events.workspaceId, t.workspaceId))).length;
    const eventsBefore = await eventCount();
    // The store's last step (its events) fails inside the database, for this workspace only:
    // the statement's earlier inserts and updates must go with it.
    const fn = `parley_test_fail_${t.workspaceId}`;
    await db.execute(sql.raw(`create function ${fn}() returns trigger language plpgsql as $$ begin
      if new.workspace_id = '${t.workspaceId}' then raise exception 'out of resources' using errcode = '53000'; end if; return new; end $$`));
    await db.execute(sql.raw(`create trigger ${fn} before insert on events for each row execute function ${fn}()`));
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      fake.reset();
      expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "a new chat in the outage" } }), 503, "service_unavailable");
      expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "a follow-up in the outage", conversation_id: convId } }), 503, "service_unavailable");
      expect(fake.requests).toHaveLength(0);
      // The log says what failed (statement, database message, SQLSTATE), not what the customer wrote.
      const lines = logged.mock.calls.map((args) => args.join(" "));
      expect(lines.some((l) => l.includes("parley_chat_start") && l.includes("out of resources") && l.includes("53000"))).toBe(true);
      expect(lines.join("\n")).not.toMatch(/in the outage|params:/);
    } finally {
      logged.mockRestore();
      await db.execute(sql.raw(`drop trigger ${fn} on events`));
      await db.execute(sql.raw(`drop function ${fn}()`));
    }
    const convs = await db.select().from(conversations).where(eq(conversations.workspaceId, t.workspaceId));
    expect(convs.map((c) => c.id)).toEqual([convId]);
    const [after] = await db.select().from(conversations).where(eq(conversations.id, convId));
    expect({ count: after!.messageCount, unread: after!.unreadCount, last: after!.lastMessageAt }).toEqual({ count: before!.messageCount, unread: before!.unreadCount, last: before!.lastMessageAt });
    expect(await tsvOf(convId)).toBe(tsvBefore);
    expect((await messagesOf(convId)).map((m) => m.content)).not.toContain("a follow-up in the outage");
    expect(await eventCount()).toBe(eventsBefore);
    // And the chat works again once the database does.
    const again = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "after the outage", conversation_id: convId } })).text));
    expect(again.at(-1)!.event).toBe("message_end");
  });

  it("validates the body (422 with fields) and keeps tenants apart (404)", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const e = expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "", conversation_id: 5 } }), 422, "validation_error");
    expect(Object.keys(e.details.fields).sort()).toEqual(["conversation_id", "message"]);
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x", conversation_id: "conv_a", session_id: "ses_b" } }), 422, "validation_error");
    expectError(await h.call("POST", "/v1/chat/stream", { body: { message: "x" } }), 401, "unauthorized");

    const a = await createAssistant(h, other.token);
    const conv = eventsOnly(parseSse((await h.call("POST", "/v1/chat/stream", { token: other.token, body: { message: "mine" } })).text))[0]!.data.conversation_id;
    const ses = (await h.call("POST", "/v1/chat/start", { token: other.token, body: { assistant_id: a.id } })).body.session_id;
    fake.reset();
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x", assistant_id: a.id } }), 404, "not_found");
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x", conversation_id: conv } }), 404, "not_found");
    expectError(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x", session_id: ses } }), 404, "not_found");
    expect(fake.requests).toHaveLength(0);
    expect(await messagesOf(conv)).toHaveLength(2);
  });
});
