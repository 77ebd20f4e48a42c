// What a delivery attempt writes: an outbound message moved to sent (with the provider's id) or
// failed (with delivery_error), and the reminder that produced it following a permanent failure.
import { and, eq, sql } from "drizzle-orm";
import { channels, messages, reminders } from "../../schema";
import type { Tx } from "../db";

export interface DeliveryError {
  code: string;
  message: string;
}

/** The delivery_error of an email or message whose conversation was deleted before it was sent. */
export const CONVERSATION_DELETED: DeliveryError = { code: "conversation_deleted", message: "The conversation was deleted before this was sent; it was not sent." };

/** Moves a queued message to sent with the provider's id (Mailgun's Message-Id or the wamid). */
export async function messageSent(tx: Tx, workspaceId: string, messageId: string, externalId: string): Promise<void> {
  await tx
    .update(messages)
    .set({ deliveryStatus: "sent", status: "sent", deliveryError: null, externalId })
    .where(and(eq(messages.id, messageId), eq(messages.workspaceId, workspaceId), eq(messages.deliveryStatus, "queued")));
}

/** Fails a queued message for good, and the reminder it came from. */
export async function messageFailed(tx: Tx, workspaceId: string, messageId: string, error: DeliveryError): Promise<void> {
  await tx
    .update(messages)
    .set({ deliveryStatus: "failed", status: "failed", deliveryError: error })
    .where(and(eq(messages.id, messageId), eq(messages.workspaceId, workspaceId), eq(messages.deliveryStatus, "queued")));
  await reminderFailed(tx, workspaceId, { messageId }, error);
}

/** A reminder counts as sent once its email or message is queued; if that delivery fails for good, so does the reminder. */
export async function reminderFailed(tx: Tx, workspaceId: string, by: { emailId?: string; messageId?: string }, error: DeliveryError): Promise<void> {
  const match = by.emailId ? eq(reminders.emailId, by.emailId) : by.messageId ? eq(reminders.messageId, by.messageId) : undefined;
  if (!match) return;
  await tx
    .update(reminders)
    .set({ status: "failed", error, sentAt: null, updatedAt: new Date() })
    .where(and(eq(reminders.workspaceId, workspaceId), match, eq(reminders.status, "sent")));
}

/** A channel whose credentials the provider refused: `status: "error"` until an admin updates it. */
export async function channelError(tx: Tx, workspaceId: string, channelId: string, reason: string): Promise<void> {
  await tx
    .update(channels)
    .set({ status: "error", statusReason: reason.slice(0, 500), updatedAt: sql`now()` })
    .where(and(eq(channels.id, channelId), eq(channels.workspaceId, workspaceId)));
}
