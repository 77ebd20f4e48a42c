// The WhatsApp part of the deliveries job: sends one queued agent message of a WhatsApp
// conversation through Graph with the channel's token (its text or template, or its files as one
// media message each, by signed link, the text as the first caption), and records what Graph said;
// the parts Graph accepted are kept as they go, so a retry sends only what is left. Rejections
// (131047 outside the 24 h window, 131026 undeliverable, a bad template) fail the message; an
// expired token (190) also puts the channel in `status: "error"`; Graph outages throw, so the job
// answers 5xx and QStash retries (the message stays queued meanwhile: nothing is lost).
import { and, eq, inArray, isNull } from "drizzle-orm";
import { applyStatus, channelSecret, takeEarlyStatus } from "../../functions/inbound/whatsapp.service";
import { channels as channelsTable, contacts, conversations as conversationsTable, files, messages } from "../../schema";
import type { Database, Db, Tx } from "../db";
import { DependencyError } from "../errors";
import { linkFor } from "../files";
import type { Services } from "../services";
import { type OutboundWhatsApp, sendWhatsApp, type TemplateInput, waIdOf } from "../whatsapp";
import { claimTarget, extendLease, release, settle } from "./attempt";
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
  let parts: Part[];
  try {
    parts = template ? [{ key: "template", message: { type: "template", template } }] : await partsOf(db, m);
  } catch (err) {
    await release(db, "message", messageId, attemptId, err instanceof Error ? err.message : String(err));
    throw err;
  }
  if (!parts.length) return failWith(m, "attachments_missing", "The message's files were deleted before it was sent, and it has no text: nothing was sent.");

  // Parts an earlier attempt had sent (Graph accepted them) before it stopped: not sent again.
  const sent = sentPartsOf(m);
  const done = new Set(sent.map((p) => p.part));
  const todo = parts.filter((p) => !done.has(p.key));
  const progress = () => (sent.length ? ` (${sent.length} of ${parts.length} parts had been sent)` : "");
  let last: { key: string; wamid: string } | undefined;
  for (const [i, part] of todo.entries()) {
    let outbound = part.message;
    if (part.file) {
      try {
        // Graph downloads the file from this link (asynchronously, sometimes minutes later): valid 24 h.
        const link = await linkFor(services, part.file, MEDIA_LINK_TTL_SECONDS);
        outbound = { ...(outbound as Extract<OutboundWhatsApp, { type: "media" }>), link: link.url };
      } catch (err) {
        await release(db, "message", messageId, attemptId, err instanceof Error ? err.message : String(err));
        throw err;
      }
    }
    const outcome = await sendWhatsApp({ graphUrl: services.config.whatsapp.graphUrl, phoneNumberId, accessToken: token, to, message: outbound });
    switch (outcome.kind) {
      case "sent":
        if (i < todo.length - 1) {
          // Kept at once: a later part's failure (QStash retries) resumes after this one.
          if (!(await recordPart(db, m.id, attemptId, part.key, outcome.wamid))) return { outcome: "superseded", message_id: messageId };
          sent.push({ part: part.key, wamid: outcome.wamid });
        } else last = { key: part.key, wamid: outcome.wamid };
        break;
      case "rejected":
        return record(async (tx) => ({ ...(await fail(tx, m, outcome.code, outcome.message + progress())), graph_code: outcome.graph.code }), outcome.message);
      case "unauthorized":
        return record(async (tx) => {
          await channelError(tx, ch.workspaceId, ch.id, outcome.message);
          return { ...(await fail(tx, m, outcome.code, outcome.message + progress())), graph_code: outcome.graph.code, channel_status: "error" };
        }, outcome.message);
      case "retry":
        // The job answers 5xx and QStash delivers it again later; the message stays queued.
        await release(db, "message", messageId, attemptId, outcome.reason);
        throw new DependencyError(`whatsapp: ${outcome.reason}`);
    }
  }
  if (last) sent.push({ part: last.key, wamid: last.wamid });
  // The message's external_id (what status webhooks move) is its first part's wamid.
  const wamid = sent[0]!.wamid;
  return record(async (tx) => {
    if (parts.length > 1 || m.attachmentIds.length) await writeSentParts(tx, m.id, sent);
    await messageSent(tx, m.workspaceId, m.id, wamid);
    // A status webhook may have come before this commit (see rememberEarlyStatus).
    const early = await takeEarlyStatus(services.kv, m.workspaceId, wamid).catch(() => undefined);
    if (early) await applyStatus(tx, m.workspaceId, early);
    return { outcome: "sent", message_id: m.id, wamid, ...(sent.length > 1 ? { wamids: sent.map((p) => p.wamid) } : {}), attempts: claim.attempts };
  });
}

// ---- attachments: one Graph media message per file ----

/** How long the signed link Graph downloads a file from stays valid. */
export const MEDIA_LINK_TTL_SECONDS = 24 * 60 * 60;
/** Graph's caption limit; a longer text goes as its own message. */
const MAX_CAPTION = 1024;

// What Graph accepts per media type (Meta's "Supported media types"), with its size limits.
const IMAGE_TYPES = new Set(["image/jpeg", "image/png"]);
const VIDEO_TYPES = new Set(["video/mp4", "video/3gpp"]);
const AUDIO_TYPES = new Set(["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"]);
const MB = 1024 * 1024;

/** The Graph media type a file goes as: image, video or audio when Graph takes it as such, else document. */
export function mediaKindOf(mimeType: string, size: number): "image" | "video" | "audio" | "document" {
  const t = mimeType.split(";")[0]!.trim().toLowerCase();
  if (IMAGE_TYPES.has(t) && size <= 5 * MB) return "image";
  if (VIDEO_TYPES.has(t) && size <= 16 * MB) return "video";
  if (AUDIO_TYPES.has(t) && size <= 16 * MB) return "audio";
  return "document";
}

type FileRow = typeof files.$inferSelect;

/** One Graph message of an agent message: its text, its template, or one of its files. */
export interface Part {
  /** Stable across attempts: "text", "template" or "file:<id>". */
  key: string;
  message: OutboundWhatsApp;
  file?: FileRow;
}

/**
 * The Graph messages an agent message is sent as: one media message per live attachment, in
 * `attachment_ids` order, the text as the first one's caption, or first as a text message of its
 * own when the first file takes no caption (audio) or the text is longer than a caption may be.
 */
export function planParts(content: string, attachments: FileRow[]): Part[] {
  const text = content.trim();
  if (!attachments.length) return text ? [{ key: "text", message: { type: "text", text } }] : [];
  const media: Part[] = attachments.map((f) => {
    const kind = mediaKindOf(f.mimeType, f.size);
    return { key: `file:${f.id}`, file: f, message: { type: "media", kind, ...(kind === "document" ? { filename: f.filename } : {}) } };
  });
  if (!text) return media;
  const first = media[0]!.message as Extract<OutboundWhatsApp, { type: "media" }>;
  if (first.kind === "audio" || text.length > MAX_CAPTION) return [{ key: "text", message: { type: "text", text } }, ...media];
  first.caption = text;
  return media;
}

async function partsOf(db: Db, m: MessageRow): Promise<Part[]> {
  if (!m.attachmentIds.length) return planParts(m.content, []);
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, m.workspaceId), inArray(files.id, m.attachmentIds), isNull(files.deletedAt)));
  const byId = new Map(rows.map((f) => [f.id, f]));
  // attachment_ids order; a file deleted since the message was written is left out.
  const live = [...new Set(m.attachmentIds)].map((id) => byId.get(id)).filter((f): f is FileRow => Boolean(f));
  return planParts(m.content, live);
}

interface SentPart {
  part: string;
  wamid: string;
}

/** The parts earlier attempts recorded as accepted by Graph (metadata.whatsapp.sent). */
export function sentPartsOf(m: Pick<MessageRow, "metadata">): SentPart[] {
  const sent = (m.metadata?.whatsapp as { sent?: unknown } | undefined)?.sent;
  if (!Array.isArray(sent)) return [];
  return sent.filter((p): p is SentPart => typeof p?.part === "string" && typeof p?.wamid === "string");
}

async function writeSentParts(tx: Tx, messageId: string, sent: SentPart[]) {
  const [row] = await tx.select({ metadata: messages.metadata }).from(messages).where(eq(messages.id, messageId)).for("update");
  if (!row) return;
  const whatsapp = { ...((row.metadata?.whatsapp as Record<string, unknown> | undefined) ?? {}), sent };
  await tx
    .update(messages)
    .set({ metadata: { ...row.metadata, whatsapp } })
    .where(eq(messages.id, messageId));
}

/** Records one part Graph accepted, while the attempt's lease is still its own (and extends it). */
async function recordPart(db: Database, messageId: string, attemptId: string, part: string, wamid: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ metadata: messages.metadata }).from(messages).where(eq(messages.id, messageId)).for("update");
    if (!row || !(await extendLease(tx, messageId, attemptId))) return false;
    await writeSentParts(tx, messageId, [...sentPartsOf(row), { part, wamid }]);
    return true;
  });
}
