// Queuing an email: the one way any area sends email (POST /v1/emails, reminders, automations'
// send_email, agent replies on email conversations). The row is written in the caller's
// transaction with status `queued`; the deliveries job sends it through Mailgun after the commit
// (or the every-minute sweep does, if publishing failed), so an email exists exactly when the
// change that asked for it does, and a Mailgun outage never loses it.
import { and, asc, eq } from "drizzle-orm";
import { emails } from "../schema/channels";
import { channels } from "../schema/channels";
import type { ChannelRow } from "./channels";
import type { Db } from "./db";
import { deliverAfterCommit } from "./delivery/publish";
import { ApiError } from "./errors";
import { newId } from "./ids";
import type { Services } from "./services";

export type EmailRow = typeof emails.$inferSelect;

export interface QueueEmailInput {
  workspaceId: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text?: string | null;
  html?: string | null;
  /** An email channel of the workspace; default: the conversation's email channel, else the workspace's oldest active one. */
  channelId?: string | null;
  contactId?: string | null;
  conversationId?: string | null;
  /** The conversation message this email carries (agent replies). */
  messageId?: string | null;
  reminderId?: string | null;
  templateId?: string | null;
  variables?: Record<string, unknown>;
  /** Extra MIME headers (In-Reply-To, References). */
  headers?: Record<string, string>;
  attachmentIds?: string[];
}

/** No usable email channel: a 422 on `channel_id` (callers outside HTTP can read `details`). */
export const noEmailChannel = (why: string) => new ApiError("validation_error", "The request body is invalid.", { details: { fields: { channel_id: [why] } } });

/** `"Acme Support" <support@acme.example>`, or the bare address without a name. */
export function fromHeader(ch: Pick<ChannelRow, "config">): string {
  const c = ch.config as { address?: string; from_address?: string; from_name?: string };
  const address = c.from_address || c.address || "";
  return c.from_name ? `"${c.from_name.replace(/["\\\r\n]/g, "")}" <${address}>` : address;
}

/** The email channel an email goes out on (see QueueEmailInput.channelId). */
export async function emailChannelFor(db: Db, workspaceId: string, channelId?: string | null): Promise<ChannelRow> {
  if (channelId) {
    const [ch] = await db
      .select()
      .from(channels)
      .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, channelId)))
      .limit(1);
    if (!ch) throw noEmailChannel("No such channel in this workspace.");
    if (ch.type !== "email") throw noEmailChannel("Must be an email channel.");
    return ch;
  }
  const [ch] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.type, "email"), eq(channels.status, "active")))
    .orderBy(asc(channels.createdAt), asc(channels.id))
    .limit(1);
  if (!ch) throw noEmailChannel("The workspace has no active email channel: create one with POST /v1/channels, or name one.");
  return ch;
}

function emailValues(input: QueueEmailInput, channel: ChannelRow) {
  return {
    id: newId("eml"),
    workspaceId: input.workspaceId,
    channelId: channel.id,
    contactId: input.contactId ?? null,
    conversationId: input.conversationId ?? null,
    messageId: input.messageId ?? null,
    reminderId: input.reminderId ?? null,
    fromAddress: fromHeader(channel),
    to: input.to,
    cc: input.cc ?? [],
    bcc: input.bcc ?? [],
    subject: input.subject,
    text: input.text ?? null,
    html: input.html ?? null,
    templateId: input.templateId ?? null,
    variables: input.variables ?? {},
    headers: input.headers ?? {},
    attachmentIds: input.attachmentIds ?? [],
    status: "queued" as const,
  };
}

/**
 * queueEmail for many emails at once (a reminders sweep's batch): each distinct channel is
 * looked up once and every row is written by one INSERT; the deliveries are published after the
 * commit in batch requests. Answers the rows in the order of `inputs`. Throws the same 422 as
 * queueEmail if one has no email channel (nothing is written then).
 */
export async function queueEmails(tx: Db, inputs: QueueEmailInput[], services?: Pick<Services, "queue">): Promise<EmailRow[]> {
  if (!inputs.length) return [];
  const found = new Map<string, ChannelRow>();
  const values = [];
  for (const input of inputs) {
    const k = `${input.workspaceId}\u0000${input.channelId ?? ""}`;
    let channel = found.get(k);
    if (!channel) {
      channel = await emailChannelFor(tx, input.workspaceId, input.channelId);
      found.set(k, channel);
    }
    values.push(emailValues(input, channel));
  }
  const rows = await tx.insert(emails).values(values).returning();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out = values.map((v) => byId.get(v.id)!);
  for (const row of out) if (!row.messageId) deliverAfterCommit(services?.queue, { workspace_id: row.workspaceId, email_id: row.id });
  return out;
}

/**
 * Writes a queued email in `tx` and publishes its delivery once the enclosing request or job run
 * has committed (`services.queue`; without it, or outside a request, the sweep sends it within
 * about a minute). Throws a 422 ApiError on `channel_id` when there is no email channel to send from.
 */
export async function queueEmail(tx: Db, input: QueueEmailInput, services?: Pick<Services, "queue">): Promise<EmailRow> {
  const channel = await emailChannelFor(tx, input.workspaceId, input.channelId);
  const [row] = await tx
    .insert(emails)
    .values(emailValues(input, channel))
    .returning();
  // An agent reply's email is sent by its message's delivery (one job per message).
  if (!input.messageId) deliverAfterCommit(services?.queue, { workspace_id: input.workspaceId, email_id: row!.id });
  return row!;
}
