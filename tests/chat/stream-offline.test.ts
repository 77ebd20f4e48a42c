// POST /v1/chat/stream on the offline provider (no OPENAI_API_KEY): events, storage, usage.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations, events, llmUsage, messages } from "../../schema";
import { createHarness } from "../support/harness";
import { createAssistant, eventsOnly, parseSse, textOf } from "./helpers";

const h = await createHarness();

describe("chat stream, offline provider", () => {
  it("streams a grounded reply word by word and stores both messages", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const r = await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "How long do refunds take?", assistant_id: a.id } });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const evs = eventsOnly(parseSse(r.text));
    expect(evs[0]!.event).toBe("message_start");
    const { conversation_id, message_id } = evs[0]!.data;
    expect(conversation_id).toMatch(/^conv_/);
    expect(message_id).toMatch(/^msg_/);
    const deltas = evs.filter((e) => e.event === "delta");
    expect(deltas.length).toBeGreaterThan(5);
    const text = textOf(evs);
    expect(text).toContain("Refunds are processed within 5 business days.");
    expect(text).toContain("offline assistant");
    const end = evs[evs.length - 1]!;
    expect(end.event).toBe("message_end");
    expect(end.data.message_id).toBe(message_id);
    expect(end.data.model).toBe("parley-offline");
    expect(end.data.usage).toMatchObject({ estimated: true });
    expect(end.data.usage.prompt_tokens).toBeGreaterThan(0);
    expect(end.data.usage.completion_tokens).toBe(Math.ceil(text.length / 4));
    expect(evs.map((e) => e.id)).toEqual(evs.map((_e, i) => `${message_id}:${i + 1}`));

    const { db } = h.services;
    const [conv] = await db.select().from(conversations).where(eq(conversations.id, conversation_id));
    expect(conv).toMatchObject({ workspaceId: t.workspaceId, source: "chat", title: "How long do refunds take?", assistantId: a.id, messageCount: 2 });
    expect(conv!.lastMessageAt).not.toBeNull();
    const msgs = await db.select().from(messages).where(eq(messages.conversationId, conversation_id)).orderBy(messages.createdAt);
    expect(msgs.map((m) => [m.senderType, m.status])).toEqual([
      ["contact", "complete"],
      ["assistant", "complete"],
    ]);
    expect(msgs[1]!.id).toBe(message_id);
    expect(msgs[1]!.content).toBe(text);
    const evRows = await db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "message.created")));
    expect(evRows.length).toBe(2);
    const usage = await db.select().from(llmUsage).where(eq(llmUsage.workspaceId, t.workspaceId));
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ model: "parley-offline", requests: 1, completionTokens: end.data.usage.completion_tokens, promptTokens: end.data.usage.prompt_tokens });
  });
});
