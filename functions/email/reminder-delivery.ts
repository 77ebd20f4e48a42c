// Sends claimed reminders (status `sending`) inside the claimer's transaction: renders each with
// its template, contact and workspace zone, hands it to the channel's delivery (an email queued
// for Mailgun, or a WhatsApp message queued for the Graph API, both sent by the deliveries job
// after the commit), and marks it sent or failed. If that delivery later fails for good, the
// deliveries job moves the reminder to failed with the delivery's error (lib/delivery/outcome.ts).
// Either everything of a batch commits (reminders sent, emails/messages queued) or nothing does
// and the reminders are scheduled again.
import { and, asc, desc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db, Tx } from "../../lib/db";
import { deliverAfterCommit } from "../../lib/delivery/publish";
import { emailChannelFor, type QueueEmailInput, queueEmails } from "../../lib/email";
import { ApiError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { waIdOf } from "../../lib/whatsapp";
import { channels, contacts, conversations, reminders, reminderTemplates, workspaces } from "../../schema";
import { insertConversation } from "../conversations/insert";
import { sendMessage } from "../conversations/messages.service";
import { templateContent } from "../conversations/whatsapp";
import type { ReminderRow, ReminderTemplateRow } from "../../schema/reminders";
import { parameters, type RenderValues, render, renderEmail } from "./reminder-render";

export interface DeliveryError {
  code: string;
  message: string;
}

/** What one reminder became: the email, or the WhatsApp message and its conversation. */
export type Outcome = { ok: true; emailId?: string; messageId?: string; conversationId?: string } | { ok: false; error: DeliveryError };

export interface ReminderToSend {
  reminder: ReminderRow;
  template: ReminderTemplateRow;
  contact: { id: string; name: string | null; email: string | null; phone: string | null; attributes: Record<string, unknown> };
  channel: { id: string; type: string; status: string } | null;
  values: RenderValues;
}

/** Thrown by a sender for a reminder that cannot be sent (no address, channel gone): it fails, others go on. */
export class ReminderNotSendable extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An email reminder becomes a queued email (reminder_id set), sent by the deliveries job after the
 * commit. This prepares it: the channel (looked up once per batch through `channelOf`) and the
 * rendered text; the batch's emails are then written together (queueEmails).
 */
async function prepareEmail(r: ReminderToSend, channelOf: (workspaceId: string, channelId: string | null) => Promise<unknown>): Promise<QueueEmailInput> {
  if (!r.contact.email) throw new ReminderNotSendable("no_address", "The contact has no email address.");
  const channelId = r.channel?.type === "email" ? r.channel.id : null;
  try {
    await channelOf(r.reminder.workspaceId, channelId);
  } catch (err) {
    if (err instanceof ApiError && err.code === "validation_error") throw new ReminderNotSendable("no_channel", "The workspace has no active email channel to send from.");
    throw err;
  }
  const rendered = renderEmail(r.template, r.values);
  return {
    workspaceId: r.reminder.workspaceId,
    channelId,
    contactId: r.contact.id,
    reminderId: r.reminder.id,
    templateId: r.template.id,
    variables: r.reminder.variables,
    to: [r.contact.email],
    subject: rendered.subject || r.template.name,
    text: rendered.text,
    html: rendered.html,
  };
}

/** The WhatsApp channel a reminder goes out on: its own, else the workspace's oldest active one. */
async function whatsappChannel(tx: Tx, r: ReminderToSend) {
  if (r.channel) {
    if (r.channel.type !== "whatsapp") throw new ReminderNotSendable("no_channel", "The reminder's channel is not a WhatsApp channel.");
    const [ch] = await tx.select().from(channels).where(and(eq(channels.id, r.channel.id), eq(channels.workspaceId, r.reminder.workspaceId)));
    if (ch) return ch;
  }
  const [ch] = await tx
    .select()
    .from(channels)
    .where(and(eq(channels.workspaceId, r.reminder.workspaceId), eq(channels.type, "whatsapp"), eq(channels.status, "active")))
    .orderBy(asc(channels.createdAt), asc(channels.id))
    .limit(1);
  if (!ch) throw new ReminderNotSendable("no_channel", "The workspace has no active WhatsApp channel.");
  return ch;
}

/**
 * A WhatsApp reminder becomes an agent message on the contact's latest open conversation on the
 * channel (else a new one): the approved template with the body's values as its parameters when
 * the reminder template names one, else the rendered text (which Graph refuses outside the
 * 24-hour window: the reminder then fails with `outside_messaging_window`).
 */
async function sendWhatsApp(tx: Tx, services: Services, r: ReminderToSend): Promise<Outcome> {
  const attrWaId = typeof r.contact.attributes?.wa_id === "string" ? waIdOf(r.contact.attributes.wa_id) : "";
  const waId = attrWaId || (r.contact.phone ? waIdOf(r.contact.phone) : "");
  if (!waId) throw new ReminderNotSendable("no_address", "The contact has no phone number (or WhatsApp id).");
  const ch = await whatsappChannel(tx, r);
  const ws = r.reminder.workspaceId;
  const text = render(r.template.body, r.values);
  const wt = r.template.whatsappTemplate;
  const template = wt ? { name: wt.name, language: wt.language, ...(parameters(r.template.body, r.values).length ? { parameters: parameters(r.template.body, r.values) } : {}) } : undefined;
  const [latest] = await tx
    .select()
    .from(conversations)
    .where(and(eq(conversations.workspaceId, ws), eq(conversations.contactId, r.contact.id), eq(conversations.channelId, ch.id), ne(conversations.status, "closed")))
    .orderBy(desc(sql`coalesce(${conversations.lastMessageAt}, ${conversations.createdAt})`), desc(conversations.id))
    .limit(1);
  const conv =
    latest ??
    (await insertConversation(
      tx,
      ws,
      { title: `Reminder: ${r.template.name}`.slice(0, 200), source: "whatsapp", contactId: r.contact.id, channelId: ch.id, metadata: { whatsapp: { wa_id: waId, phone_number_id: ch.inboundKey } } },
      REMINDER_ACTOR,
    ));
  const message = await sendMessage(
    tx,
    conv,
    { content: template ? templateContent(template) : text, sender_type: "agent", metadata: { reminder_id: r.reminder.id, ...(template ? { whatsapp: { template } } : {}) } },
    { actor: REMINDER_ACTOR },
  );
  deliverAfterCommit(services.queue, { workspace_id: ws, message_id: message.id });
  return { ok: true, messageId: message.id, conversationId: conv.id };
}

const REMINDER_ACTOR = "reminders";

export async function deliverReminders(tx: Tx, services: Services, claimed: ReminderRow[], by: "job" | "sweep"): Promise<{ sent: number; failed: number }> {
  if (!claimed.length) return { sent: 0, failed: 0 };
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  const channelIds = uniq(claimed.map((r) => r.channelId).filter((x): x is string => !!x));
  const [tpls, people, chans, zones] = await Promise.all([
    tx.select().from(reminderTemplates).where(inArray(reminderTemplates.id, uniq(claimed.map((r) => r.templateId)))),
    tx
      .select({ id: contacts.id, workspaceId: contacts.workspaceId, name: contacts.name, email: contacts.email, phone: contacts.phone, attributes: contacts.attributes })
      .from(contacts)
      .where(inArray(contacts.id, uniq(claimed.map((r) => r.contactId)))),
    channelIds.length ? tx.select({ id: channels.id, workspaceId: channels.workspaceId, type: channels.type, status: channels.status }).from(channels).where(inArray(channels.id, channelIds)) : Promise.resolve([]),
    workspaceTimezones(tx, uniq(claimed.map((r) => r.workspaceId))),
  ]);
  const tplById = new Map(tpls.map((t) => [t.id, t]));
  const contactById = new Map(people.map((c) => [c.id, c]));
  const channelById = new Map(chans.map((c) => [c.id, c]));

  const outcomes: Array<{ r: ReminderRow; out: Outcome }> = [];
  // Email reminders are queued together after the loop: their outcome slots wait for it.
  const mails: Array<{ slot: { r: ReminderRow; out: Outcome }; input: QueueEmailInput }> = [];
  const channelLookups = new Map<string, Promise<unknown>>();
  const channelOf = (workspaceId: string, channelId: string | null) => {
    const k = `${workspaceId} ${channelId ?? ""}`;
    let p = channelLookups.get(k);
    if (!p) {
      p = emailChannelFor(tx, workspaceId, channelId);
      channelLookups.set(k, p);
    }
    return p;
  };
  for (const r of claimed) {
    const template = tplById.get(r.templateId);
    const contact = contactById.get(r.contactId);
    // Every lookup is checked against the reminder's workspace, whatever the foreign keys say.
    if (!template || template.workspaceId !== r.workspaceId || !contact || contact.workspaceId !== r.workspaceId) {
      outcomes.push({ r, out: { ok: false, error: { code: "not_found", message: "The reminder's template or contact no longer exists." } } });
      continue;
    }
    const channel = r.channelId ? channelById.get(r.channelId) : undefined;
    if (channel && channel.workspaceId !== r.workspaceId) {
      outcomes.push({ r, out: { ok: false, error: { code: "not_found", message: "The reminder's channel no longer exists." } } });
      continue;
    }
    const item: ReminderToSend = {
      reminder: r,
      template,
      contact,
      channel: channel ?? null,
      values: { contact: { name: contact.name, email: contact.email }, eventAt: r.eventAt, variables: r.variables, timezone: zones.get(r.workspaceId) },
    };
    try {
      if (template.channel === "email") {
        const input = await prepareEmail(item, channelOf);
        const slot: { r: ReminderRow; out: Outcome } = { r, out: { ok: true } };
        outcomes.push(slot);
        mails.push({ slot, input });
      } else {
        outcomes.push({ r, out: await sendWhatsApp(tx, services, item) });
      }
    } catch (err) {
      if (!(err instanceof ReminderNotSendable)) throw err;
      outcomes.push({ r, out: { ok: false, error: { code: err.code, message: err.message } } });
    }
  }

  // Every email of the batch in one INSERT (channels already found: no 422 can come from it).
  const queued = await queueEmails(
    tx,
    mails.map((m) => m.input),
    services,
  );
  mails.forEach((m, i) => {
    m.slot.out = { ok: true, emailId: queued[i]!.id };
  });

  // One UPDATE for the whole batch: each row's outcome from a VALUES list. The rows were claimed
  // (status `sending`, locked) by this transaction, so no status guard is needed; one would make
  // PostgreSQL, which counts no `sending` rows in its statistics, join the list by a nested loop
  // over a sequential scan (170 ms for 500 rows). The id list reads them by primary key.
  const now = new Date();
  const values = sql.join(
    outcomes.map(({ r, out }) =>
      out.ok
        ? sql`(${r.id}, 'sent', ${out.emailId ?? null}, ${out.messageId ?? null}, ${out.conversationId ?? null}, null::jsonb)`
        : sql`(${r.id}, 'failed', null, null, null, ${JSON.stringify(out.error)}::jsonb)`,
    ),
    sql`, `,
  );
  await tx.execute(sql`
    update ${reminders} set
      status = v.status, email_id = v.email_id, message_id = v.message_id, conversation_id = v.conversation_id,
      error = v.error, sent_by = ${by}, sent_at = case when v.status = 'sent' then ${now.toISOString()}::timestamptz else null end,
      updated_at = ${now.toISOString()}::timestamptz
    from (values ${values}) as v(id, status, email_id, message_id, conversation_id, error)
    where ${reminders.id} in (${sql.join(
      outcomes.map(({ r }) => sql`${r.id}`),
      sql`, `,
    )}) and ${reminders.id} = v.id`);
  const sent = outcomes.filter((o) => o.out.ok).length;
  return { sent, failed: outcomes.length - sent };
}

/** Each workspace's display zone for {{event_at}} (settings.timezone, default UTC). */
export async function workspaceTimezones(db: Db, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.select({ id: workspaces.id, settings: workspaces.settings }).from(workspaces).where(inArray(workspaces.id, ids)) : [];
  return new Map(rows.map((r) => [r.id, r.settings?.timezone || "UTC"]));
}
