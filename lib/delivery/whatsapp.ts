// The WhatsApp part of the deliveries job: sends one queued agent message of a WhatsApp
// conversation through Graph with the channel's token, and records what Graph said. Rejections
// (131047 outside the 24 h window, 131026 undeliverable, a bad template) fail the message; an
// expired token (190) also puts the channel in `status: "error"`; Graph outages throw, so the job
// answers 5xx and QStash retries (the message stays queued meanwhile: nothing is lost).
import { and, eq } from "drizzle-orm";
import { applyStatus, channelSecret, takeEarlyStatus } from "../../functions/inbound/whatsapp.service";
import { channels as channelsTable, contacts, conversations as conversationsTable, messages } from "../../schema";
import type { Db, Tx } from "../db";
import { DependencyError } from "../errors";
import type { Services } from "../services";
import { type OutboundWhatsApp, sendWhatsApp, type TemplateInput, waIdOf } from "../whatsapp";
import { claimTarget, release, settle } from "./attempt";
import { CONVERSATION_DELETED, channelError, messageFailed, messageSent } from "./outcome";

type MessageRow = typeof messages.$inferSelect;
type ConversationRow = typeof conversationsTable.$inferSelect;
type ChannelRow = typeof channelsTable.$inferSelect;

export interface WhatsAppDelivery {
  message: MessageRow;
  /** Undefined when it was deleted (its messages go with it, so only in a race). */
  conversation: Pick<ConversationRow, "id" | "workspaceId" | "contactId" | "channelId" | "metadata"> | undefined;
  /** The conversation's channel; undefined when it was deleted. */
  channel: ChannelRow | undefined;
}

/** The template an agent message carries (metadata.whatsapp.template), if any. */
export function templateOf(m: Pick<MessageRow, "metadata">): TemplateInput | undefined {
  const t = (m.metadata?.whatsapp as { template?: TemplateInput } | undefined)?.template;
  return t && typeof t.name === "string" && typeof t.language === "string" ? t : undefined;
}

async function fail(tx: Tx, m: MessageRow, code: string, message: string) {
  await messageFailed(tx, m.workspaceId, m.id, { code, message });
  return { outcome: "failed", code };
}

/** Who the conversation talks to: its wa_id, else its contact's phone. */
async function recipientOf(tx: Db, conversation: NonNullable<WhatsAppDelivery["conversation"]>): Promise<string | undefined> {
  const fromMeta = (conversation.metadata?.whatsapp as { wa_id?: unknown } | undefined)?.wa_id;
  if (typeof fromMeta === "string" && fromMeta) return waIdOf(fromMeta);
  if (!conversation.contactId) return undefined;
  const [ct] = await tx
    .select({ phone: contacts.phone, attributes: contacts.attributes })
    .from(contacts)
    .where(and(eq(contacts.id, conversation.contactId), eq(contacts.workspaceId, conversation.workspaceId)))
    .limit(1);
  const waId = (ct?.attributes as { wa_id?: unknown } | undefined)?.wa_id;
  if (typeof waId === "string" && waIdOf(waId)) return waIdOf(waId);
  return ct?.phone ? waIdOf(ct.phone) || undefined : undefined;
}

/**
 * Sends message `messageId` (an agent message on a WhatsApp conversation) if it is still queued,
 * under an attempt lease (lib/delivery/attempt.ts), calling Graph outside any transaction. Graph
 * has no idempotency key: an attempt whose predecessor stopped after calling Graph and before
 * recording its answer (`inDoubt`) does not send again; it fails the message with
 * `delivery_unconfirmed`, so an agent decides (a duplicate WhatsApp message cannot be unsent).
 */
export async function deliverWhatsApp(services: Services, workspaceId: string, messageId: string): Promise<Record<string, unknown>> {
  const { db } = services;
  const claim = await claimTarget(db, "message", workspaceId, messageId);
  if (!claim.ok) return { outcome: claim.reason === "not_queued" ? "skipped" : claim.reason, message_id: messageId, ...(claim.status ? { delivery_status: claim.status } : {}) };
  const { attemptId } = claim;
  const record = (fn: (tx: Tx) => Promise<Record<string, unknown>>, lastError: string | null = null) =>
    db.transaction(async (tx) => ((await settle(tx, "message", messageId, attemptId, lastError)) ? fn(tx) : { outcome: "superseded", message_id: messageId }));
  const failWith = (m: MessageRow, code: string, message: string) => record((tx) => fail(tx, m, code, message), message);

  let m: MessageRow;
  let d: WhatsAppDelivery;
  let to: string | undefined;
  try {
    const [row] = await db
      .select()
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.workspaceId, workspaceId)));
    if (!row) {
      // Deleted (with its conversation) since the claim: nothing to send.
      await release(db, "message", messageId, attemptId, "the message no longer exists");
      return { outcome: "missing", message_id: messageId };
    }
    m = row;
    const [conversation] = await db
      .select()
      .from(conversationsTable)
      .where(and(eq(conversationsTable.id, m.conversationId), eq(conversationsTable.workspaceId, workspaceId)));
    const [channel] = conversation?.channelId
      ? await db
          .select()
          .from(channelsTable)
          .where(and(eq(channelsTable.id, conversation.channelId), eq(channelsTable.workspaceId, workspaceId)))
      : [];
    d = { message: m, conversation, channel };
    to = conversation ? await recipientOf(db, conversation) : undefined;
  } catch (err) {
    await release(db, "message", messageId, attemptId, err instanceof Error ? err.message : String(err));
    throw err;
  }
  if (!d.conversation) return failWith(m, CONVERSATION_DELETED.code, CONVERSATION_DELETED.message);
  if (claim.inDoubt) {
    return failWith(
      m,
      "delivery_unconfirmed",
      "An earlier attempt stopped after calling WhatsApp and before recording its answer: the message may or may not have been delivered. It is not sent again automatically; send it again if the customer did not get it.",
    );
  }
  const ch = d.channel;
  if (ch?.type !== "whatsapp" || ch.workspaceId !== m.workspaceId) return failWith(m, "channel_missing", "The conversation's WhatsApp channel no longer exists.");
  const token = channelSecret(ch, "access_token");
  const phoneNumberId = ch.inboundKey ?? (typeof ch.config.phone_number_id === "string" ? ch.config.phone_number_id : undefined);
  if (!token || !phoneNumberId) return failWith(m, "channel_misconfigured", "The WhatsApp channel has no access_token or phone_number_id.");
  if (!to) return failWith(m, "no_recipient", "The conversation's contact has no WhatsApp number.");

  const template = templateOf(m);
  const outbound: OutboundWhatsApp = template ? { type: "template", template } : { type: "text", text: m.content };
  const outcome = await sendWhatsApp({ graphUrl: services.config.whatsapp.graphUrl, phoneNumberId, accessToken: token, to, message: outbound });

  switch (outcome.kind) {
    case "sent":
      return record(async (tx) => {
        await messageSent(tx, m.workspaceId, m.id, outcome.wamid);
        // A status webhook may have come before this commit (see rememberEarlyStatus).
        const early = await takeEarlyStatus(services.kv, m.workspaceId, outcome.wamid).catch(() => undefined);
        if (early) await applyStatus(tx, m.workspaceId, early);
        return { outcome: "sent", message_id: m.id, wamid: outcome.wamid, attempts: claim.attempts };
      });
    case "rejected":
      return record(async (tx) => ({ ...(await fail(tx, m, outcome.code, outcome.message)), graph_code: outcome.graph.code }), outcome.message);
    case "unauthorized":
      return record(async (tx) => {
        await channelError(tx, ch.workspaceId, ch.id, outcome.message);
        return { ...(await fail(tx, m, outcome.code, outcome.message)), graph_code: outcome.graph.code, channel_status: "error" };
      }, outcome.message);
    case "retry":
      // The job answers 5xx and QStash delivers it again later; the message stays queued.
      await release(db, "message", messageId, attemptId, outcome.reason);
      throw new DependencyError(`whatsapp: ${outcome.reason}`);
  }
}
