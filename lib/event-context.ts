// What an event is about, as webhook bodies and automation conditions see it: the event's own
// data plus the objects it concerns, read when the event is handled — `conversation`
// (with its tag names), `message`, `contact` and `summary` — so a condition can name
// `conversation.source`, `message.content`, `contact.email` or `summary.sentiment`.
import { and, eq } from "drizzle-orm";
import { contacts, conversations, conversationTags, events, messages, tags } from "../schema";
import type { Db } from "./db";

export type EventRow = typeof events.$inferSelect;

export async function loadEvent(db: Db, workspaceId: string, eventId: string): Promise<EventRow | undefined> {
  const [e] = await db
    .select()
    .from(events)
    .where(and(eq(events.workspaceId, workspaceId), eq(events.id, eventId)))
    .limit(1);
  return e;
}

const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);

export async function eventContext(db: Db, e: EventRow): Promise<Record<string, unknown>> {
  const ws = e.workspaceId;
  const data = (e.data ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...data };

  let conversationId = e.entityType === "conversation" ? e.entityId : str(data.conversation_id);
  let contactId = e.entityType === "contact" ? e.entityId : str(data.contact_id);

  if (e.entityType === "message") {
    const [m] = await db
      .select()
      .from(messages)
      .where(and(eq(messages.workspaceId, ws), eq(messages.id, e.entityId)))
      .limit(1);
    if (m) {
      conversationId = m.conversationId;
      out.message = {
        id: m.id,
        conversation_id: m.conversationId,
        sender_type: m.senderType,
        sender_id: m.senderId,
        content: m.content,
        source: m.source,
        created_at: m.createdAt.toISOString(),
      };
    }
  }

  if (conversationId) {
    const [c] = await db
      .select()
      .from(conversations)
      .where(and(eq(conversations.workspaceId, ws), eq(conversations.id, conversationId)))
      .limit(1);
    if (c) {
      const tagRows = await db
        .select({ name: tags.name })
        .from(conversationTags)
        .innerJoin(tags, eq(tags.id, conversationTags.tagId))
        .where(and(eq(conversationTags.workspaceId, ws), eq(conversationTags.conversationId, c.id)));
      contactId ??= c.contactId ?? undefined;
      out.conversation = {
        id: c.id,
        title: c.title,
        status: c.status,
        source: c.source,
        channel_id: c.channelId,
        contact_id: c.contactId,
        assignee_id: c.assigneeId,
        message_count: c.messageCount,
        metadata: c.metadata,
        tags: tagRows.map((t) => t.name),
        created_at: c.createdAt.toISOString(),
      };
      if (c.summary && out.summary === undefined) out.summary = c.summary;
    }
  }

  if (contactId) {
    const [ct] = await db
      .select({ id: contacts.id, name: contacts.name, email: contacts.email, phone: contacts.phone })
      .from(contacts)
      .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, contactId)))
      .limit(1);
    if (ct) out.contact = ct;
  }
  return out;
}

/** `{type, timestamp, data}`: the body of a webhook delivery (Standard Webhooks' shape). */
export function eventEnvelope(e: EventRow, data: Record<string, unknown>) {
  return { type: e.type, timestamp: e.createdAt.toISOString(), data: { event_id: e.id, ...data } };
}
