// The email part of the deliveries job: sends one queued email through Mailgun (the channel's own
// account, else Parley's) and records what Mailgun said; and turns an agent message on an email
// conversation into its email (threaded on the conversation, to the contact, from the channel).
// Each send claims its row while it is still `queued` (lib/delivery/attempt.ts), calls Mailgun
// outside any transaction and records the answer while the claim is still its own, so a
// redelivered job or the sweep's re-publish sends once.
import { and, desc, eq, inArray, isNotNull, isNull, ne, } from "drizzle-orm";
import { channels, contacts, conversations, emailEvents, emails, files, messages } from "../../schema";
import type { ChannelRow } from "../channels";
import type { Database, Tx } from "../db";
import { queueEmail, type EmailRow } from "../email";
import { DependencyError } from "../errors";
import { newId } from "../ids";
import { bareMessageId, type MailgunAccount, type MailgunAttachment, type MailgunMessage, sendMailgun } from "../mailgun";
import { claimTarget, release, settle } from "./attempt";
import type { Services } from "../services";
import { CONVERSATION_DELETED, channelError, type DeliveryError, messageFailed, messageSent, reminderFailed } from "./outcome";
import { deliverWhatsApp } from "./whatsapp";

/** How many earlier Message-Ids a reply's References header carries. */
const MAX_REFERENCES = 20;
/** Attachments above this total are left out of the email (Mailgun's limit is 25 MB per message). */
const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

/** The account `channel` sends through: its own mailgun_domain + mailgun_api_key, else Parley's. */
export function mailgunAccountFor(services: Pick<Services, "config">, channel: Pick<ChannelRow, "config" | "secrets">): MailgunAccount | undefined {
  const { mailgun } = services.config;
  const domain = channel.config.mailgun_domain;
  const key = channel.secrets?.mailgun_api_key;
  if (typeof domain === "string" && domain && key) return { baseUrl: mailgun.baseUrl, domain, apiKey: key, owner: "channel" };
  if (mailgun.apiKey && mailgun.domain) return { baseUrl: mailgun.baseUrl, domain: mailgun.domain, apiKey: mailgun.apiKey, owner: "platform" };
  return undefined;
}

async function emailFailed(tx: Tx, e: EmailRow, error: DeliveryError, data: Record<string, unknown> = {}) {
  const now = new Date();
  const [moved] = await tx
    .update(emails)
    .set({ status: "failed", error, updatedAt: now })
    .where(and(eq(emails.id, e.id), eq(emails.workspaceId, e.workspaceId), eq(emails.status, "queued")))
    .returning({ id: emails.id });
  if (moved) await tx.insert(emailEvents).values({ id: newId("evt"), workspaceId: e.workspaceId, emailId: e.id, type: "failed", occurredAt: now, data: { ...error, ...data } });
  if (e.messageId) await messageFailed(tx, e.workspaceId, e.messageId, error);
  await reminderFailed(tx, e.workspaceId, { emailId: e.id }, error);
  return { outcome: "failed", email_id: e.id, code: error.code };
}

async function attachmentsOf(db: Database, services: Services, e: EmailRow): Promise<MailgunAttachment[]> {
  if (!e.attachmentIds.length) return [];
  const rows = await db
    .select({ filename: files.filename, mimeType: files.mimeType, size: files.size, storageKey: files.storageKey })
    .from(files)
    .where(and(eq(files.workspaceId, e.workspaceId), inArray(files.id, e.attachmentIds), isNull(files.deletedAt)));
  const out: MailgunAttachment[] = [];
  let total = 0;
  for (const f of rows) {
    total += f.size;
    if (total > MAX_ATTACHMENT_BYTES) break;
    // Storage trouble is transient: the job is retried, the email stays queued.
    const obj = await services.storage.get(f.storageKey).catch((err) => {
      throw new DependencyError(`storage: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (obj) out.push({ filename: f.filename, contentType: f.mimeType, data: new Uint8Array(obj.body) });
  }
  return out;
}

/** What the attempt will send, or the permanent failure it already is. */
async function prepareSend(services: Services, e: EmailRow): Promise<{ account: MailgunAccount; channelId: string; message: MailgunMessage } | { error: DeliveryError }> {
  const { db } = services;
  if (e.conversationId) {
    // Deleting a conversation takes back what it still had queued: its agent replies go with it
    // (messages cascade), and the email of a reply (or a POST /v1/emails in that conversation) is
    // not sent into a thread that no longer exists.
    const [conv] = await db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.id, e.conversationId), eq(conversations.workspaceId, e.workspaceId)))
      .limit(1);
    if (!conv) return { error: CONVERSATION_DELETED };
  }
  const [channel] = e.channelId
    ? await db
        .select()
        .from(channels)
        .where(and(eq(channels.id, e.channelId), eq(channels.workspaceId, e.workspaceId)))
        .limit(1)
    : [];
  if (channel?.type !== "email") return { error: { code: "channel_missing", message: "The email's channel no longer exists." } };
  const account = mailgunAccountFor(services, channel);
  if (!account) {
    return { error: { code: "channel_misconfigured", message: "No Mailgun account: the channel has no mailgun_domain/mailgun_api_key and MAILGUN_API_KEY/MAILGUN_DOMAIN are not set." } };
  }
  const variables: Record<string, string> = { parley_workspace_id: e.workspaceId, parley_email_id: e.id };
  if (e.messageId) variables.parley_message_id = e.messageId;
  const message: MailgunMessage = {
    from: e.fromAddress,
    to: e.to,
    cc: e.cc,
    bcc: e.bcc,
    subject: e.subject,
    text: e.text,
    html: e.html,
    // Our own Message-Id: a resend after an attempt that stopped between Mailgun's accept and our
    // record carries the same id, so receivers (and Mailgun's events) see one message.
    headers: { "Message-Id": `<${e.id}@${account.domain}>`, ...e.headers },
    variables,
    attachments: await attachmentsOf(db, services, e),
  };
  return { account, channelId: channel.id, message };
}

/**
 * Sends email `emailId` of `workspaceId` if it is still queued, outside any transaction, under an
 * attempt lease (lib/delivery/attempt.ts). Mailgun's id is stored without angle brackets
 * (emails.provider_message_id and, for an agent reply, messages.external_id). Permanent refusals
 * fail it; outages throw DependencyError (the job answers 5xx, QStash retries; it stays queued).
 */
export async function deliverEmail(services: Services, workspaceId: string, emailId: string): Promise<Record<string, unknown>> {
  const { db } = services;
  const claim = await claimTarget(db, "email", workspaceId, emailId);
  if (!claim.ok) return { outcome: claim.reason === "not_queued" ? "skipped" : claim.reason, email_id: emailId, ...(claim.status ? { status: claim.status } : {}) };
  const { attemptId } = claim;
  let prepared: Awaited<ReturnType<typeof prepareSend>>;
  let e: EmailRow;
  try {
    const [row] = await db
      .select()
      .from(emails)
      .where(and(eq(emails.id, emailId), eq(emails.workspaceId, workspaceId)));
    e = row!;
    prepared = await prepareSend(services, e);
  } catch (err) {
    await release(db, "email", emailId, attemptId, err instanceof Error ? err.message : String(err));
    throw err;
  }
  if ("error" in prepared) {
    const error = prepared.error;
    return db.transaction(async (tx) => ((await settle(tx, "email", emailId, attemptId, error.message)) ? emailFailed(tx, e, error) : { outcome: "superseded", email_id: emailId }));
  }
  const outcome = await sendMailgun(prepared.account, prepared.message);
  if (outcome.kind === "retry") {
    await release(db, "email", emailId, attemptId, outcome.reason);
    throw new DependencyError(`mailgun: ${outcome.reason}`);
  }
  return db.transaction(async (tx) => {
    // Recorded only while the lease is ours: an attempt that outlived it leaves the row to its successor.
    if (!(await settle(tx, "email", emailId, attemptId, outcome.kind === "sent" ? null : outcome.message))) return { outcome: "superseded", email_id: emailId };
    const extra = claim.inDoubt ? { in_doubt_resend: true } : {};
    switch (outcome.kind) {
      case "sent": {
        const now = new Date();
        await tx
          .update(emails)
          .set({ status: "sent", providerMessageId: outcome.id, error: null, sentAt: now, updatedAt: now })
          .where(and(eq(emails.id, e.id), eq(emails.workspaceId, workspaceId), eq(emails.status, "queued")));
        await tx.insert(emailEvents).values({ id: newId("evt"), workspaceId, emailId: e.id, type: "accepted", occurredAt: now, data: { provider_message_id: outcome.id, message: outcome.message } });
        if (e.messageId) await messageSent(tx, workspaceId, e.messageId, outcome.id);
        return { outcome: "sent", email_id: e.id, provider_message_id: outcome.id, attempts: claim.attempts, ...extra };
      }
      case "rejected":
        return { ...(await emailFailed(tx, e, { code: outcome.code, message: outcome.message }, { http_status: outcome.status })), ...extra };
      case "unauthorized":
        await channelError(tx, workspaceId, prepared.channelId, outcome.message);
        return { ...(await emailFailed(tx, e, { code: outcome.code, message: outcome.message }, { http_status: outcome.status })), channel_status: "error", ...extra };
    }
  });
}

/** `Re: <subject>` without piling up prefixes. */
export const replySubject = (s: string) => `Re: ${s.replace(/^(\s*(re|fwd?|aw|sv)\s*:\s*)+/i, "").trim() || "(no subject)"}`;

const subjectIn = (metadata: Record<string, unknown> | null | undefined): string | undefined => {
  const m = metadata ?? {};
  const email = m.email as { subject?: unknown } | undefined;
  const s = email?.subject ?? m.subject;
  return typeof s === "string" && s.trim() ? s : undefined;
};

/** In-Reply-To, References and the subject of a reply in `conv`, from its earlier messages' Message-Ids. */
export async function threadOf(tx: Tx, conv: { id: string; workspaceId: string; title: string }, messageId: string) {
  const prior = await tx
    .select({ externalId: messages.externalId, metadata: messages.metadata })
    .from(messages)
    .where(and(eq(messages.workspaceId, conv.workspaceId), eq(messages.conversationId, conv.id), isNotNull(messages.externalId), ne(messages.id, messageId)))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(MAX_REFERENCES);
  const ids = prior.map((p) => bareMessageId(p.externalId!)).filter(Boolean);
  const headers: Record<string, string> = {};
  if (ids.length) {
    headers["In-Reply-To"] = `<${ids[0]}>`;
    headers.References = [...ids]
      .reverse()
      .map((i) => `<${i}>`)
      .join(" ");
  }
  const [lastEmail] = await tx
    .select({ subject: emails.subject })
    .from(emails)
    .where(and(eq(emails.workspaceId, conv.workspaceId), eq(emails.conversationId, conv.id)))
    .orderBy(desc(emails.createdAt), desc(emails.id))
    .limit(1);
  const subject = prior.map((p) => subjectIn(p.metadata)).find(Boolean) ?? lastEmail?.subject ?? conv.title;
  return { headers, subject: replySubject(subject) };
}

/**
 * Sends message `messageId` (an agent message on an email or WhatsApp conversation) if it is
 * still queued. An email conversation's reply becomes an emails row (message_id set) the first
 * time, in a short transaction holding the message row, and that email is sent.
 */
export async function deliverMessage(services: Services, workspaceId: string, messageId: string): Promise<Record<string, unknown>> {
  const prep = await services.db.transaction(async (tx): Promise<{ done: Record<string, unknown> } | { whatsapp: true } | { emailId: string }> => {
    const [m] = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.workspaceId, workspaceId)))
      .for("update");
    if (!m) {
      // Gone with its conversation (messages cascade). An email an earlier attempt made of it may
      // still be queued (Mailgun was down then): that one is failed as conversation_deleted below.
      const [orphan] = await tx
        .select({ id: emails.id, status: emails.status })
        .from(emails)
        .where(and(eq(emails.workspaceId, workspaceId), eq(emails.messageId, messageId)))
        .limit(1);
      if (orphan?.status === "queued") return { emailId: orphan.id };
      return { done: { outcome: "missing", message_id: messageId } };
    }
    if (m.deliveryStatus !== "queued") return { done: { outcome: "skipped", message_id: messageId, status: m.deliveryStatus } };
    const [conv] = await tx
      .select()
      .from(conversations)
      .where(and(eq(conversations.id, m.conversationId), eq(conversations.workspaceId, workspaceId)))
      .limit(1);
    if (conv?.source === "whatsapp") return { whatsapp: true };
    const fail = async (code: string, message: string) => {
      await messageFailed(tx, workspaceId, m.id, { code, message });
      return { done: { outcome: "failed", message_id: m.id, code } };
    };
    if (!conv) return fail(CONVERSATION_DELETED.code, CONVERSATION_DELETED.message);
    if (conv.source !== "email") return fail("not_deliverable", "The conversation has no email or WhatsApp channel to deliver on.");
    let [email] = await tx
      .select()
      .from(emails)
      .where(and(eq(emails.workspaceId, workspaceId), eq(emails.messageId, m.id)))
      .limit(1);
    if (!email) {
      const [channel] = conv.channelId
        ? await tx
            .select()
            .from(channels)
            .where(and(eq(channels.id, conv.channelId), eq(channels.workspaceId, workspaceId)))
            .limit(1)
        : [];
      if (channel?.type !== "email") return fail("channel_missing", "The conversation's email channel no longer exists.");
      const [ct] = conv.contactId
        ? await tx
            .select({ email: contacts.email })
            .from(contacts)
            .where(and(eq(contacts.id, conv.contactId), eq(contacts.workspaceId, workspaceId)))
            .limit(1)
        : [];
      if (!ct?.email) return fail("no_recipient", "The conversation's contact has no email address.");
      const thread = await threadOf(tx, conv, m.id);
      email = await queueEmail(tx, {
        workspaceId,
        channelId: channel.id,
        contactId: conv.contactId,
        conversationId: conv.id,
        messageId: m.id,
        to: [ct.email],
        subject: thread.subject,
        text: m.content,
        headers: thread.headers,
        attachmentIds: m.attachmentIds,
      });
    }
    if (email.status === "queued") return { emailId: email.id };
    // The email's outcome was recorded without the message following (defensive: they move together).
    if (email.providerMessageId) await messageSent(tx, workspaceId, m.id, email.providerMessageId);
    else if (email.error) await messageFailed(tx, workspaceId, m.id, email.error);
    return { done: { outcome: "skipped", message_id: m.id, email_id: email.id, status: email.status } };
  });
  if ("done" in prep) return prep.done;
  if ("whatsapp" in prep) return deliverWhatsApp(services, workspaceId, messageId);
  return { message_id: messageId, ...(await deliverEmail(services, workspaceId, prep.emailId)) };
}
