// The one way a conversation row comes to exist: the row and its `conversation.created` event,
// in the caller's transaction. Shared by the conversations API, capture and the chat function
// (kept free of the queue and LLM so every bundle can import it).
import { atomically, type Db } from "../../lib/db";
import { newEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { conversations, events } from "../../schema";

export type ConversationRow = typeof conversations.$inferSelect;

export interface NewConversationRow {
  title: string;
  source: ConversationRow["source"];
  content?: string | null;
  contactId?: string | null;
  sessionId?: string | null;
  channelId?: string | null;
  assistantId?: string | null;
  metadata?: Record<string, unknown>;
}

export async function insertConversation(
  tx: Db,
  workspaceId: string,
  input: NewConversationRow,
  actor: string,
  eventExtra: Record<string, unknown> = {},
): Promise<ConversationRow> {
  const { values, event } = newConversation(workspaceId, input, actor, eventExtra);
  const [row] = await tx.insert(conversations).values(values).returning();
  await tx.insert(events).values(event.values);
  event.recorded();
  return row!;
}

/**
 * insertConversation as a transaction of its own: the two inserts as one batch, so over Neon's
 * HTTP transport one fetch and no WebSocket (lib/db.ts atomically).
 */
export async function createConversationRow(db: Db, workspaceId: string, input: NewConversationRow, actor: string, eventExtra: Record<string, unknown> = {}): Promise<ConversationRow> {
  const { values, event } = newConversation(workspaceId, input, actor, eventExtra);
  const [rows] = await atomically(db, (q) => [q.insert(conversations).values(values).returning(), q.insert(events).values(event.values)]);
  event.recorded();
  return (rows as ConversationRow[])[0]!;
}

function newConversation(workspaceId: string, input: NewConversationRow, actor: string, eventExtra: Record<string, unknown>) {
  const id = newId("conv");
  const values = {
    id,
    workspaceId,
    title: input.title,
    content: input.content ?? null,
    source: input.source,
    contactId: input.contactId ?? null,
    sessionId: input.sessionId ?? null,
    channelId: input.channelId ?? null,
    assistantId: input.assistantId ?? null,
    metadata: input.metadata ?? {},
  };
  const event = newEvent(workspaceId, "conversation.created", { type: "conversation", id }, actor, {
    title: input.title,
    source: input.source,
    contact_id: input.contactId ?? null,
    session_id: input.sessionId ?? null,
    channel_id: input.channelId ?? null,
    assistant_id: input.assistantId ?? null,
    ...eventExtra,
  });
  return { values, event };
}
