// /v1/emails: emails queued through the one queue (lib/email.ts) and sent by the deliveries job;
// their events as Mailgun reports them. Every lookup is of the caller's workspace.
import { and, asc, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { type EmailRow, emailChannelFor, queueEmail } from "../../lib/email";
import { ApiError } from "../../lib/errors";
import { iso } from "../../lib/openapi";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { contacts, conversations, emailEvents, emails } from "../../schema";
import { customVariables, renderEmail } from "./reminder-render";
import { workspaceTimezones } from "./reminder-delivery";
import { findTemplate } from "./reminders.service";

export const emailJson = (e: EmailRow) => ({
  id: e.id,
  status: e.status,
  channel_id: e.channelId,
  contact_id: e.contactId,
  conversation_id: e.conversationId,
  message_id: e.messageId,
  reminder_id: e.reminderId,
  template_id: e.templateId,
  from: e.fromAddress,
  to: e.to,
  cc: e.cc,
  bcc: e.bcc,
  subject: e.subject,
  text: e.text,
  html: e.html,
  variables: e.variables,
  provider_message_id: e.providerMessageId,
  error: e.error ?? null,
  attempts: e.attempts,
  sent_at: iso(e.sentAt),
  created_at: e.createdAt.toISOString(),
  updated_at: e.updatedAt.toISOString(),
});

export interface SendEmailInput {
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  text?: string;
  html?: string;
  template_id?: string;
  variables?: Record<string, string>;
  contact_id?: string;
  conversation_id?: string;
  channel_id?: string;
}

const invalid = (fields: Record<string, string[]>) => new ApiError("validation_error", "The request body is invalid.", { details: { fields } });

/** Checks every reference at once (422 naming each bad one), renders a template, and queues the email. */
export async function sendEmail(services: Services, ws: string, input: SendEmailInput): Promise<EmailRow> {
  const { db } = services;
  const fields: Record<string, string[]> = {};
  const [contact] = input.contact_id
    ? await db
        .select({ id: contacts.id, name: contacts.name, email: contacts.email })
        .from(contacts)
        .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, input.contact_id)))
        .limit(1)
    : [];
  if (input.contact_id && !contact) fields.contact_id = ["No such contact in this workspace."];
  const [conv] = input.conversation_id
    ? await db
        .select({ id: conversations.id, channelId: conversations.channelId })
        .from(conversations)
        .where(and(eq(conversations.workspaceId, ws), eq(conversations.id, input.conversation_id)))
        .limit(1)
    : [];
  if (input.conversation_id && !conv) fields.conversation_id = ["No such conversation in this workspace."];
  let channelId = input.channel_id;
  try {
    // Default: the conversation's own email channel, else the workspace's oldest active one.
    channelId = (await emailChannelFor(db, ws, channelId ?? (conv?.channelId && (await isEmailChannel(db, ws, conv.channelId)) ? conv.channelId : undefined))).id;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    Object.assign(fields, (err.details as { fields: Record<string, string[]> }).fields);
  }
  let rendered: { subject: string; text: string | null; html: string | null } = { subject: input.subject ?? "", text: input.text ?? null, html: input.html ?? null };
  if (input.template_id) {
    const tpl = await findTemplate(db, ws, input.template_id);
    if (!tpl) fields.template_id = ["No such reminder template in this workspace."];
    else if (tpl.channel !== "email") fields.template_id = ["Must be an email template."];
    else {
      const given = input.variables ?? {};
      const missing = customVariables(tpl.subject, tpl.body).filter((name) => given[name] === undefined);
      for (const name of missing) fields[`variables.${name}`] = [`The template uses {{variables.${name}}}: give its value.`];
      if (!missing.length) {
        const zone = (await workspaceTimezones(db, [ws])).get(ws);
        rendered = renderEmail(tpl, { contact: { name: contact?.name ?? null, email: contact?.email ?? input.to[0] ?? null }, eventAt: null, variables: given, timezone: zone });
        if (!rendered.subject) fields.template_id = ["The template renders an empty subject."];
      }
    }
  }
  if (Object.keys(fields).length) throw invalid(fields);
  return db.transaction((tx) =>
    queueEmail(
      tx,
      {
        workspaceId: ws,
        channelId,
        contactId: contact?.id ?? null,
        conversationId: conv?.id ?? null,
        to: input.to,
        cc: input.cc,
        bcc: input.bcc,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        templateId: input.template_id ?? null,
        variables: input.variables ?? {},
      },
      services,
    ),
  );
}

async function isEmailChannel(db: Db, ws: string, id: string): Promise<boolean> {
  try {
    await emailChannelFor(db, ws, id);
    return true;
  } catch {
    return false;
  }
}

export async function listEmails(db: Db, ws: string, page: Page, sort: SortSpec<"created_at" | "sent_at">, f: { status?: EmailRow["status"]; contact_id?: string; to?: string }) {
  const conds: SQL[] = [eq(emails.workspaceId, ws)];
  if (f.status) conds.push(eq(emails.status, f.status));
  if (f.contact_id) conds.push(eq(emails.contactId, f.contact_id));
  if (f.to) {
    const addr = f.to.trim().toLowerCase();
    conds.push(sql`(${addr} = any(${emails.to}) or ${addr} = any(${emails.cc}) or ${addr} = any(${emails.bcc}))`);
  }
  const where = and(...conds);
  const col = sort.field === "sent_at" ? emails.sentAt : emails.createdAt;
  const dir = sort.direction === "asc" ? asc : desc;
  const [rows, [count]] = await Promise.all([
    db.select().from(emails).where(where).orderBy(dir(col), dir(emails.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(emails).where(where),
  ]);
  return { total: Number(count?.n ?? 0), rows: rows.map(emailJson) };
}

export async function getEmail(db: Db, ws: string, id: string) {
  const [e] = await db
    .select()
    .from(emails)
    .where(and(eq(emails.workspaceId, ws), eq(emails.id, id)))
    .limit(1);
  if (!e) throw new ApiError("not_found", "No such email.");
  const evs = await db
    .select()
    .from(emailEvents)
    .where(and(eq(emailEvents.workspaceId, ws), eq(emailEvents.emailId, id)))
    .orderBy(asc(emailEvents.occurredAt), asc(emailEvents.createdAt), asc(emailEvents.id));
  return { ...emailJson(e), events: evs.map((v) => ({ id: v.id, type: v.type, occurred_at: v.occurredAt.toISOString(), data: v.data })) };
}
