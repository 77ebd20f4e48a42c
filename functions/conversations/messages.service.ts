// Messages of a conversation: listing (with `since` for polling) and sending, with the
// conversation's counters kept by single atomic UPDATEs in the same transaction (one batch).
import { and, asc, count, eq, gt, type SQL, sql } from "drizzle-orm";
import { atomically, type Db } from "../../lib/db";
import { ApiError, foreignKeyViolation } from "../../lib/errors";
import { newEvent } from "../../lib/events";
import { attachToMessage } from "../../lib/files";
import { newId } from "../../lib/ids";
import { offsetOf, type Page } from "../../lib/pagination";
import { conversations, events, messages } from "../../schema";
import type { ConversationRow } from "./service";

export type MessageRow = typeof messages.$inferSelect;
export type SenderType = MessageRow["senderType"];

/** Sources whose agent messages leave Parley on that channel (the email/WhatsApp areas send them). */
export const DELIVERED_SOURCES: ReadonlySet<string> = new Set(["email", "whatsapp"]);

export const messageJson = (m: MessageRow) => ({
  id: m.id,
  conversation_id: m.conversationId,
  sender_type: m.senderType,
  sender_id: m.senderId,
  content: m.content,
  status: m.status,
  source: m.source,
  external_id: m.externalId,
  delivery_status: m.deliveryStatus ?? null,
  delivery_error: m.deliveryError ?? null,
  attachment_ids: m.attachmentIds,
  metadata: m.metadata,
  created_at: m.createdAt.toISOString(),
});

/**
 * Message times are kept to the millisecond, the precision of the API's ISO strings, so a
 * client polling with `since` = the last `created_at` it saw gets exactly what came after.
 */
export const MESSAGE_NOW = sql`date_trunc('milliseconds', now())`;

/** Oldest first (a thread reads top to bottom; polling appends), id breaking ties. */
export async function listMessages(db: Db, workspaceId: string, conversationId: string, page: Page, since?: Date) {
  const conds: SQL[] = [eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId)];
  if (since) conds.push(gt(messages.createdAt, since));
  const where = and(...conds)!;
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(messages)
      .where(where)
      .orderBy(asc(messages.createdAt), asc(messages.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: count() }).from(messages).where(where),
  ]);
  return { total: total?.n ?? 0, data: rows.map(messageJson) };
}

/**
 * The counters a batch of new messages moves, as one UPDATE's SET: message_count and, for
 * everything but notes, last_message_at; unread_count for contact messages; first_response_at
 * is the earliest agent message. Everything is relative to the row's current values, so
 * concurrent senders never lose an increment.
 */
export function counterSet(batch: Array<{ senderType: SenderType; at: Date | null }>) {
  const c = conversations;
  const unread = batch.filter((m) => m.senderType === "contact").length;
  const visible = batch.filter((m) => m.senderType !== "note");
  const agentTimes = batch.filter((m) => m.senderType === "agent");
  const stamp = (d: Date | null) => (d ? sql`${d.toISOString()}::timestamptz` : MESSAGE_NOW);
  const latest = (list: typeof batch) => sql`greatest(${sql.join(list.map((m) => stamp(m.at)), sql`, `)})`;
  const earliest = (list: typeof batch) => sql`least(${sql.join(list.map((m) => stamp(m.at)), sql`, `)})`;
  const set: Record<string, unknown> = {
    messageCount: sql`${c.messageCount} + ${batch.length}`,
    updatedAt: sql`now()`,
  };
  if (unread) set.unreadCount = sql`${c.unreadCount} + ${unread}`;
  if (visible.length) set.lastMessageAt = sql`greatest(${c.lastMessageAt}, ${latest(visible)})`;
  if (agentTimes.length) set.firstResponseAt = sql`least(${c.firstResponseAt}, ${earliest(agentTimes)})`;
  return set;
}

export interface SendInput {
  content: string;
  sender_type: "agent" | "contact" | "assistant" | "note";
  attachment_ids?: string[];
  /** Kept with the message (a WhatsApp template's name, language and parameters). */
  metadata?: Record<string, unknown>;
}

/**
 * Stores a message and moves the conversation's counters, in one transaction: one batch (lib/db.ts
 * atomically; over Neon's HTTP transport one fetch and no WebSocket), as nothing is read in
 * between. The counters' UPDATE comes first, so its row lock keeps the conversation until the
 * commit. A conversation deleted since the caller read it: the UPDATE moves nothing and the
 * message's insert fails on messages.conversation_id's foreign key (as on the workspace's, were
 * the workspace gone), which rolls the whole batch back: nothing written, 404.
 *
 * Delivery hook: an agent message on an email or WhatsApp conversation is stored with status
 * `queued`, and its `message.created` event carries `data.deliver: true` and `data.channel`.
 * The email/WhatsApp area consumes those events (outbox) to send it and moves the status on.
 * A note is private: never delivered, never unread, never a first response.
 */
export async function sendMessage(db: Db, conv: ConversationRow, input: SendInput, sender: { agentId?: string; actor: string }): Promise<MessageRow> {
  const deliver = input.sender_type === "agent" && DELIVERED_SOURCES.has(conv.source);
  const senderId = input.sender_type === "agent" ? (sender.agentId ?? null) : input.sender_type === "contact" ? conv.contactId : null;
  const id = newId("msg");
  const attachmentIds = input.attachment_ids ?? [];
  const event = newEvent(conv.workspaceId, "message.created", { type: "message", id }, sender.actor, {
    conversation_id: conv.id,
    sender_type: input.sender_type,
    ...(deliver ? { deliver: true, channel: conv.source, channel_id: conv.channelId } : {}),
  });
  let out: unknown[];
  try {
    out = await atomically(db, (q) => {
      const attach = attachToMessage(q, conv.workspaceId, conv.id, id, attachmentIds);
      return [
        q
          .update(conversations)
          .set(counterSet([{ senderType: input.sender_type, at: null }]))
          .where(and(eq(conversations.workspaceId, conv.workspaceId), eq(conversations.id, conv.id)))
          .returning({ id: conversations.id }),
        q
          .insert(messages)
          .values({
            id,
            workspaceId: conv.workspaceId,
            conversationId: conv.id,
            senderType: input.sender_type,
            senderId,
            content: input.content,
            status: deliver ? "queued" : "complete",
            deliveryStatus: deliver ? "queued" : null,
            source: "api",
            createdAt: MESSAGE_NOW,
            attachmentIds,
            metadata: input.metadata ?? {},
          })
          .returning(),
        ...(attach ? [attach] : []),
        q.insert(events).values(event.values),
      ];
    });
  } catch (err) {
    if (foreignKeyViolation(err)) throw new ApiError("not_found", "No such conversation.");
    throw err;
  }
  event.recorded();
  return (out[1] as MessageRow[])[0]!;
}
