// What a verified Mailgun event does: one email_events row per Mailgun event id (a redelivery adds
// nothing), the email's status moved forward (never back), and the conversation message the email
// carries moved along its delivery status. Temporary failures are recorded but move nothing:
// Mailgun is still retrying.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { newId, sha256Hex } from "../../lib/ids";
import { channels, emailEvents, emails, messages } from "../../schema";
import { EMAIL_EVENT_TYPES } from "../../schema/channels";
import { bareMessageId, cleanLine, cleanText } from "./mailgun-parse";

type Json = Record<string, unknown>;
export type EmailRow = typeof emails.$inferSelect;
export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];
export type EmailStatus = EmailRow["status"];

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 500): string | undefined => (typeof v === "string" && v.length > 0 ? v.slice(0, max) : undefined);

export interface ParsedEvent {
  /** Mailgun's event id (or a digest of the event when it has none): the idempotency key. */
  providerEventId: string;
  type: EmailEventType;
  occurredAt: Date;
  permanentFailure: boolean;
  /** Correlation: Parley's custom variables, and Mailgun's message id without brackets. */
  workspaceId?: string;
  emailId?: string;
  messageId?: string;
  providerMessageId?: string;
  /** What is kept in email_events.data. */
  data: Json;
  error?: { code: string; message: string };
}

/** The custom variables, which Mailgun may hand back as an object or as a JSON string. */
function userVariables(v: unknown): Json {
  if (isObj(v)) return v;
  if (typeof v === "string") {
    try {
      const parsed: unknown = JSON.parse(v);
      return isObj(parsed) ? parsed : {};
    } catch {
      return {};
    }
  }
  return {};
}

/** The correlation fields of an event, even a malformed one (to pick the signing key). */
export function correlationOf(eventData: unknown): Pick<ParsedEvent, "workspaceId" | "emailId" | "messageId" | "providerMessageId"> {
  if (!isObj(eventData)) return {};
  const uv = userVariables(eventData["user-variables"]);
  const headers = isObj(eventData.message) && isObj(eventData.message.headers) ? eventData.message.headers : {};
  return {
    workspaceId: str(uv.parley_workspace_id, 100),
    emailId: str(uv.parley_email_id, 100),
    messageId: str(uv.parley_message_id, 100),
    providerMessageId: bareMessageId(str(headers["message-id"], 1000)),
  };
}

function failureError(reason: string | undefined, status: Json): { code: string; message: string } {
  const smtp = typeof status.code === "number" ? status.code : undefined;
  const text = str(status.message, 1000) ?? str(status.description, 1000);
  const code = reason === "bounce" || reason === "suppress-bounce" ? "bounced" : reason?.startsWith("suppress") ? "suppressed" : "undeliverable";
  return { code, message: `${smtp ? `${smtp} ` : ""}${text ?? "Mailgun could not deliver the email."}`.trim() };
}

/** The event of an `event-data` object, or null when it is not one Parley records. */
export async function parseEvent(eventData: unknown, now = new Date()): Promise<ParsedEvent | null> {
  if (!isObj(eventData)) return null;
  const type = str(eventData.event, 50);
  if (!type || !(EMAIL_EVENT_TYPES as readonly string[]).includes(type)) return null;
  const ts = typeof eventData.timestamp === "number" ? eventData.timestamp : Number(eventData.timestamp);
  const occurredAt = Number.isFinite(ts) && ts > 0 && ts * 1000 <= now.getTime() + 60_000 ? new Date(Math.round(ts * 1000)) : now;
  const severity = str(eventData.severity, 50);
  const reason = str(eventData.reason, 100);
  const status = isObj(eventData["delivery-status"]) ? eventData["delivery-status"] : {};
  const permanentFailure = type === "failed" && severity !== "temporary";
  const data: Json = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") data[k] = v;
  };
  put("severity", severity);
  put("reason", reason);
  put("recipient", str(eventData.recipient, 320) && cleanLine(str(eventData.recipient, 320), 320));
  put("log_level", str(eventData["log-level"], 20));
  put("url", str(eventData.url, 2000) && cleanLine(str(eventData.url, 2000), 2000));
  put("ip", str(eventData.ip, 64));
  if (Object.keys(status).length) {
    const ds: Json = {};
    if (typeof status.code === "number") ds.code = status.code;
    if (str(status.message)) ds.message = cleanText(str(status.message, 2000), 2000);
    if (str(status.description)) ds.description = cleanText(str(status.description, 2000), 2000);
    if (typeof status["attempt-no"] === "number") ds.attempt_no = status["attempt-no"];
    if (typeof status["retry-seconds"] === "number") ds.retry_seconds = status["retry-seconds"];
    if (str(status["mx-host"])) ds.mx_host = cleanLine(str(status["mx-host"]), 253);
    data.delivery_status = ds;
  }
  const id = str(eventData.id, 200);
  return {
    providerEventId: id ? cleanLine(id, 200) : `digest:${await sha256Hex(JSON.stringify(eventData))}`,
    type: type as EmailEventType,
    occurredAt,
    permanentFailure,
    ...correlationOf(eventData),
    data,
    ...(permanentFailure ? { error: failureError(reason, status) } : {}),
  };
}

/**
 * The keys an email's events may be signed with: those of the Mailgun account that sent it (as
 * the delivery job picks it). A channel with its own account (mailgun_domain + mailgun_api_key):
 * its webhook_signing_key only. Otherwise Parley's account: MAILGUN_WEBHOOK_SIGNING_KEY (and the
 * channel's own key, when it has one, which only that workspace and Parley know).
 */
export function eventSigningKeys(ch: Pick<typeof channels.$inferSelect, "config" | "secrets"> | undefined, platformKey: string | undefined): string[] {
  const own = ch?.secrets?.webhook_signing_key || undefined;
  const ownAccount = typeof ch?.config?.mailgun_domain === "string" && ch.config.mailgun_domain !== "" && Boolean(ch.secrets?.mailgun_api_key);
  const keys = ownAccount ? [own] : [platformKey, own];
  return keys.filter((k): k is string => Boolean(k));
}

/**
 * The emails an event may be about: the one its custom variables name (within their workspace),
 * else those with its Mailgun message id; each with the keys its events may be signed with.
 */
export async function candidateEmails(db: Db, c: ReturnType<typeof correlationOf>, platformKey: string | undefined): Promise<Array<{ email: EmailRow; keys: string[] }>> {
  const byId = c.emailId ? and(eq(emails.id, c.emailId), c.workspaceId ? eq(emails.workspaceId, c.workspaceId) : undefined) : undefined;
  let rows: EmailRow[] = [];
  if (byId) rows = await db.select().from(emails).where(byId).limit(1);
  if (!rows.length && c.providerMessageId) rows = await db.select().from(emails).where(eq(emails.providerMessageId, c.providerMessageId)).limit(10);
  if (!rows.length) return [];
  const channelIds = [...new Set(rows.map((r) => r.channelId).filter((x): x is string => Boolean(x)))];
  const chans = channelIds.length
    ? await db
        .select({ id: channels.id, workspaceId: channels.workspaceId, config: channels.config, secrets: channels.secrets })
        .from(channels)
        .where(and(eq(channels.type, "email"), inArray(channels.id, channelIds)))
    : [];
  return rows.map((email) => ({ email, keys: eventSigningKeys(chans.find((x) => x.id === email.channelId && x.workspaceId === email.workspaceId), platformKey) }));
}

/**
 * How far along an email is. Progress only moves up; a permanent failure, an unsubscribe and a
 * complaint end it (terminal: later engagement events do not move it back).
 */
export const EMAIL_RANK: Record<EmailStatus, number> = { queued: 0, sent: 1, delivered: 2, opened: 3, clicked: 4, failed: 5, unsubscribed: 6, complained: 7 };
const emailRankSql = sql`(case ${emails.status} ${sql.join(
  Object.entries(EMAIL_RANK).map(([s, r]) => sql`when ${s} then ${sql.raw(String(r))}`),
  sql` `,
)} else 0 end)`;

/** Message delivery statuses in the same spirit: failed is terminal. */
const MESSAGE_RANK: Record<string, number> = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const messageRankSql = sql`(case ${messages.deliveryStatus} ${sql.join(
  Object.entries(MESSAGE_RANK).map(([s, r]) => sql`when ${s} then ${sql.raw(String(r))}`),
  sql` `,
)} else 0 end)`;

const EMAIL_STATUS_OF: Record<EmailEventType, EmailStatus> = {
  accepted: "sent",
  delivered: "delivered",
  opened: "opened",
  clicked: "clicked",
  failed: "failed",
  complained: "complained",
  unsubscribed: "unsubscribed",
};
const MESSAGE_STATUS_OF: Partial<Record<EmailEventType, "sent" | "delivered" | "read" | "failed">> = {
  accepted: "sent",
  delivered: "delivered",
  opened: "read",
  clicked: "read",
  failed: "failed",
};

export interface ApplyResult {
  duplicate: boolean;
  status: EmailStatus;
  messageStatus?: string | null;
}

/** Records the event for `email` and moves the email (and its message) forward, in one transaction. */
export async function applyEvent(db: Db, email: EmailRow, ev: ParsedEvent): Promise<ApplyResult> {
  const ws = email.workspaceId;
  return db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(emailEvents)
      .values({ id: newId("evt"), workspaceId: ws, emailId: email.id, type: ev.type, occurredAt: ev.occurredAt, providerEventId: ev.providerEventId, data: ev.data })
      .onConflictDoNothing()
      .returning({ id: emailEvents.id });
    const current = async () => {
      const [row] = await tx
        .select({ status: emails.status })
        .from(emails)
        .where(and(eq(emails.workspaceId, ws), eq(emails.id, email.id)));
      return row?.status ?? email.status;
    };
    if (!inserted) return { duplicate: true, status: await current() };
    // A temporary failure: Mailgun retries on its own; nothing moves yet.
    if (ev.type === "failed" && !ev.permanentFailure) return { duplicate: false, status: await current() };

    const next = EMAIL_STATUS_OF[ev.type];
    const set: Record<string, unknown> = { status: next, updatedAt: sql`now()` };
    if (ev.error) set.error = ev.error;
    const [moved] = await tx
      .update(emails)
      .set(set)
      .where(and(eq(emails.workspaceId, ws), eq(emails.id, email.id), sql`${emailRankSql} < ${EMAIL_RANK[next]}`))
      .returning({ status: emails.status });

    let messageStatus: string | null | undefined;
    const target = MESSAGE_STATUS_OF[ev.type];
    if (target && (email.messageId || ev.messageId)) {
      const mset: Record<string, unknown> = { deliveryStatus: target, status: target };
      if (target === "failed") mset.deliveryError = ev.error ?? { code: "undeliverable", message: "Mailgun could not deliver the email." };
      const [m] = await tx
        .update(messages)
        .set(mset)
        .where(
          and(
            eq(messages.workspaceId, ws),
            // The message the email carries; a parley_message_id only counts for this email's conversation.
            email.messageId ? eq(messages.id, email.messageId) : and(eq(messages.id, ev.messageId!), email.conversationId ? eq(messages.conversationId, email.conversationId) : undefined),
            sql`${messages.deliveryStatus} is not null`,
            sql`${messageRankSql} < ${MESSAGE_RANK[target]}`,
          ),
        )
        .returning({ deliveryStatus: messages.deliveryStatus });
      messageStatus = m?.deliveryStatus;
    }
    return { duplicate: false, status: moved?.status ?? (await current()), ...(messageStatus !== undefined ? { messageStatus } : {}) };
  });
}
