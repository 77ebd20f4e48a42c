// The one way a conversation row comes to exist: the row and its `conversation.created` event,
// in the caller's transaction. Shared by the conversations API, capture and the chat function
// (kept free of the queue and LLM so every bundle can import it).
import type { Db } from "../../lib/db";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { conversations } from "../../schema";

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
  const id = newId("conv");
  const [row] = await tx
    .insert(conversations)
    .values({
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
    })
    .returning();
  await recordEvent(tx, workspaceId, "conversation.created", { type: "conversation", id }, actor, {
    title: input.title,
    source: input.source,
    contact_id: input.contactId ?? null,
    session_id: input.sessionId ?? null,
    channel_id: input.channelId ?? null,
    assistant_id: input.assistantId ?? null,
    ...eventExtra,
  });
  return row!;
}
