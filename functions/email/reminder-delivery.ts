// Sends claimed reminders (status `sending`) inside the claimer's transaction: renders each with
// its template, contact and workspace zone, hands it to the channel's delivery (an email queued
// for Mailgun, or a WhatsApp message queued for the Graph API), and marks it sent or failed.
// Either everything of a batch commits (reminders sent, emails/messages queued) or nothing does
// and the reminders are scheduled again.
import { inArray, sql } from "drizzle-orm";
import type { Db, Tx } from "../../lib/db";
import type { Services } from "../../lib/services";
import { channels, contacts, reminders, reminderTemplates, workspaces } from "../../schema";
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

async function sendEmail(_tx: Tx, _services: Services, r: ReminderToSend): Promise<Outcome> {
  if (!r.contact.email) throw new ReminderNotSendable("no_address", "The contact has no email address.");
  renderEmail(r.template, r.values);
  throw new ReminderNotSendable("email_unavailable", "Email delivery is not available on this server yet.");
}

async function sendWhatsApp(_tx: Tx, _services: Services, r: ReminderToSend): Promise<Outcome> {
  if (!r.contact.phone && typeof r.contact.attributes?.wa_id !== "string") throw new ReminderNotSendable("no_address", "The contact has no phone number (or WhatsApp id).");
  render(r.template.body, r.values);
  if (r.template.whatsappTemplate) parameters(r.template.body, r.values);
  throw new ReminderNotSendable("whatsapp_unavailable", "WhatsApp delivery is not available on this server yet.");
}

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
      outcomes.push({ r, out: template.channel === "email" ? await sendEmail(tx, services, item) : await sendWhatsApp(tx, services, item) });
    } catch (err) {
      if (!(err instanceof ReminderNotSendable)) throw err;
      outcomes.push({ r, out: { ok: false, error: { code: err.code, message: err.message } } });
    }
  }

  // One UPDATE for the whole batch: each row's outcome from a VALUES list.
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
    where ${reminders.id} = v.id and ${reminders.status} = 'sending'`);
  const sent = outcomes.filter((o) => o.out.ok).length;
  return { sent, failed: outcomes.length - sent };
}

/** Each workspace's display zone for {{event_at}} (settings.timezone, default UTC). */
export async function workspaceTimezones(db: Db, ids: string[]): Promise<Map<string, string>> {
  const rows = ids.length ? await db.select({ id: workspaces.id, settings: workspaces.settings }).from(workspaces).where(inArray(workspaces.id, ids)) : [];
  return new Map(rows.map((r) => [r.id, r.settings?.timezone || "UTC"]));
}
