// Reminder templates and reminders: the one place their SQL lives. A reminder is scheduled by a
// QStash delayed message at send_at (functions/jobs/reminders.ts) and, as a safety net, found by
// the cron sweep; both claim the row with one conditional UPDATE (scheduled → sending), so
// whichever comes first sends it and the other finds nothing to do.
import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Db, Tx } from "../../lib/db";
import { ApiError, describeError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/openapi";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { channels, contacts, emails, messages, reminders, reminderTemplates } from "../../schema";
import type { ReminderRow, ReminderTemplateRow } from "../../schema/reminders";
import { customVariables, parseTemplate, usesEventAt } from "./reminder-render";
import { deliverReminders } from "./reminder-delivery";

// ---- Templates ----

export const templateJson = (t: ReminderTemplateRow) => ({
  id: t.id,
  name: t.name,
  channel: t.channel,
  subject: t.subject,
  body: t.body,
  offset_minutes: t.offsetMinutes,
  active: t.active,
  whatsapp_template: t.whatsappTemplate ?? null,
  variables: [...new Set([...(t.subject ? parseTemplate(t.subject).variables : []), ...parseTemplate(t.body).variables])],
  created_at: t.createdAt.toISOString(),
  updated_at: t.updatedAt.toISOString(),
});

export interface TemplateInput {
  name: string;
  channel: "email" | "whatsapp";
  subject?: string | null;
  body: string;
  offset_minutes: number;
  active: boolean;
  whatsapp_template?: { name: string; language: string } | null;
}

export async function listTemplates(db: Db, ws: string, page: Page, sort: SortSpec<"created_at" | "updated_at" | "name">, f: { channel?: "email" | "whatsapp"; active?: boolean }) {
  const conds: SQL[] = [eq(reminderTemplates.workspaceId, ws)];
  if (f.channel) conds.push(eq(reminderTemplates.channel, f.channel));
  if (f.active !== undefined) conds.push(eq(reminderTemplates.active, f.active));
  const where = and(...conds);
  const col = { created_at: reminderTemplates.createdAt, updated_at: reminderTemplates.updatedAt, name: sql`lower(${reminderTemplates.name})` }[sort.field];
  const dir = sort.direction === "asc" ? asc : desc;
  const [rows, [count]] = await Promise.all([
    db.select().from(reminderTemplates).where(where).orderBy(dir(col), dir(reminderTemplates.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(reminderTemplates).where(where),
  ]);
  return { total: Number(count?.n ?? 0), rows: rows.map(templateJson) };
}

export async function findTemplate(db: Db, ws: string, id: string): Promise<ReminderTemplateRow | undefined> {
  const [row] = await db
    .select()
    .from(reminderTemplates)
    .where(and(eq(reminderTemplates.workspaceId, ws), eq(reminderTemplates.id, id)))
    .limit(1);
  return row;
}

export async function getTemplate(db: Db, ws: string, id: string): Promise<ReminderTemplateRow> {
  const row = await findTemplate(db, ws, id);
  if (!row) throw notFound("reminder template");
  return row;
}

export async function createTemplate(db: Db, ws: string, input: TemplateInput): Promise<ReminderTemplateRow> {
  const [row] = await db
    .insert(reminderTemplates)
    .values({
      id: newId("rtpl"),
      workspaceId: ws,
      name: input.name,
      channel: input.channel,
      subject: input.subject ?? null,
      body: input.body,
      offsetMinutes: input.offset_minutes,
      active: input.active,
      whatsappTemplate: input.whatsapp_template ?? null,
    })
    .returning();
  return row!;
}

export async function updateTemplate(db: Db, ws: string, id: string, patch: Partial<TemplateInput>): Promise<ReminderTemplateRow> {
  const current = await getTemplate(db, ws, id);
  const channel = patch.channel ?? current.channel;
  const subject = patch.subject !== undefined ? patch.subject : current.subject;
  const whatsappTemplate = patch.whatsapp_template !== undefined ? patch.whatsapp_template : current.whatsappTemplate;
  const fields: Record<string, string[]> = {};
  if (channel === "email" && !subject) fields.subject = ["Required for an email template."];
  // Moving to email drops a WhatsApp template that was set, unless the patch sets one.
  if (channel !== "whatsapp" && patch.whatsapp_template) fields.whatsapp_template = ["Only for a whatsapp template."];
  if (Object.keys(fields).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields } });
  const [row] = await db
    .update(reminderTemplates)
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      channel,
      subject: subject ?? null,
      ...(patch.body !== undefined ? { body: patch.body } : {}),
      ...(patch.offset_minutes !== undefined ? { offsetMinutes: patch.offset_minutes } : {}),
      ...(patch.active !== undefined ? { active: patch.active } : {}),
      whatsappTemplate: channel === "whatsapp" ? (whatsappTemplate ?? null) : null,
      updatedAt: new Date(),
    })
    .where(and(eq(reminderTemplates.workspaceId, ws), eq(reminderTemplates.id, id)))
    .returning();
  if (!row) throw notFound("reminder template");
  return row;
}

/** Deletes a template and its finished reminders; 409 while reminders of it are still scheduled. */
export async function deleteTemplate(tx: Tx, ws: string, id: string): Promise<void> {
  const [tpl] = await tx
    .select({ id: reminderTemplates.id })
    .from(reminderTemplates)
    .where(and(eq(reminderTemplates.workspaceId, ws), eq(reminderTemplates.id, id)))
    .for("update");
  if (!tpl) throw notFound("reminder template");
  const [pending] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(reminders)
    .where(and(eq(reminders.templateId, id), inArray(reminders.status, ["scheduled", "sending"])));
  const n = Number(pending?.n ?? 0);
  if (n > 0) {
    throw new ApiError("conflict", `${n} reminder${n === 1 ? " is" : "s are"} still scheduled with this template: cancel them first, or deactivate the template.`, {
      details: { reason: "template_in_use", scheduled_reminders: n },
    });
  }
  await tx.delete(reminderTemplates).where(and(eq(reminderTemplates.workspaceId, ws), eq(reminderTemplates.id, id)));
}

// ---- Reminders ----

type ReminderView = ReminderRow & { channel: "email" | "whatsapp"; deliveryStatus: string | null };

export const reminderJson = (r: ReminderView) => ({
  id: r.id,
  template_id: r.templateId,
  contact_id: r.contactId,
  channel: r.channel,
  channel_id: r.channelId,
  event_at: iso(r.eventAt),
  send_at: r.sendAt.toISOString(),
  variables: r.variables,
  status: r.status,
  email_id: r.emailId,
  message_id: r.messageId,
  conversation_id: r.conversationId,
  delivery_status: r.deliveryStatus,
  error: r.error ?? null,
  sent_at: iso(r.sentAt),
  canceled_at: iso(r.canceledAt),
  created_at: r.createdAt.toISOString(),
  updated_at: r.updatedAt.toISOString(),
});
export type ReminderJson = ReturnType<typeof reminderJson>;

const viewColumns = {
  reminder: reminders,
  channel: reminderTemplates.channel,
  emailStatus: emails.status,
  messageStatus: messages.deliveryStatus,
};

function viewQuery(db: Db) {
  return db
    .select(viewColumns)
    .from(reminders)
    .innerJoin(reminderTemplates, eq(reminderTemplates.id, reminders.templateId))
    .leftJoin(emails, and(eq(emails.id, reminders.emailId), eq(emails.workspaceId, reminders.workspaceId)))
    .leftJoin(messages, and(eq(messages.id, reminders.messageId), eq(messages.workspaceId, reminders.workspaceId)));
}

const toView = (r: { reminder: ReminderRow; channel: "email" | "whatsapp"; emailStatus: string | null; messageStatus: string | null }): ReminderView => ({
  ...r.reminder,
  channel: r.channel,
  deliveryStatus: r.emailStatus ?? r.messageStatus ?? null,
});

export async function listReminders(
  db: Db,
  ws: string,
  page: Page,
  sort: SortSpec<"created_at" | "send_at">,
  f: { status?: ReminderRow["status"]; contact_id?: string; template_id?: string },
) {
  const conds: SQL[] = [eq(reminders.workspaceId, ws)];
  if (f.status) conds.push(eq(reminders.status, f.status));
  if (f.contact_id) conds.push(eq(reminders.contactId, f.contact_id));
  if (f.template_id) conds.push(eq(reminders.templateId, f.template_id));
  const where = and(...conds);
  const col = sort.field === "send_at" ? reminders.sendAt : reminders.createdAt;
  const dir = sort.direction === "asc" ? asc : desc;
  const [rows, [count]] = await Promise.all([
    viewQuery(db).where(where).orderBy(dir(col), dir(reminders.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(reminders).where(where),
  ]);
  return { total: Number(count?.n ?? 0), rows: rows.map((r) => reminderJson(toView(r))) };
}

export async function getReminder(db: Db, ws: string, id: string): Promise<ReminderJson> {
  const [row] = await viewQuery(db)
    .where(and(eq(reminders.workspaceId, ws), eq(reminders.id, id)))
    .limit(1);
  if (!row) throw notFound("reminder");
  return reminderJson(toView(row));
}

const invalid = (field: string, message: string) => new ApiError("validation_error", "The request body is invalid.", { details: { fields: { [field]: [message] } } });

/** An explicit send_at may lie this far in the past (clock skew, a slow client): it is then sent at once. */
export const PAST_SEND_AT_TOLERANCE_MS = 5 * 60_000;

/** Whole seconds, rounded up: QStash's not-before has one-second resolution, and a reminder never goes early. */
const ceilSecond = (ms: number) => new Date(Math.ceil(ms / 1000) * 1000);

/** When to send: `send_at`, or `event_at + offset` (sent at once when that is already past). */
function sendTime(input: { send_at?: string; event_at?: string }, offsetMinutes: number, now: number): { sendAt: Date; eventAt: Date | null } {
  if (input.event_at) {
    const eventAt = new Date(input.event_at);
    if (eventAt.getTime() <= now) throw invalid("event_at", "Must be in the future.");
    return { eventAt, sendAt: ceilSecond(Math.max(now, eventAt.getTime() + offsetMinutes * 60_000)) };
  }
  const sendAt = new Date(input.send_at!);
  if (sendAt.getTime() < now - PAST_SEND_AT_TOLERANCE_MS) throw invalid("send_at", "Must not be in the past.");
  return { eventAt: null, sendAt: ceilSecond(Math.max(now, sendAt.getTime())) };
}

/** The variables the template needs that `given` lacks, as field errors. */
function missingVariables(tpl: ReminderTemplateRow, given: Record<string, string>, eventAt: Date | null): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const name of customVariables(tpl.subject, tpl.body)) {
    if (!(name in given)) fields[`variables.${name}`] = [`The template uses {{variables.${name}}}: give its value.`];
  }
  if (!eventAt && usesEventAt(tpl.subject, tpl.body)) fields.event_at = ["The template uses {{event_at}}: give event_at (send_at is then computed from the template's offset)."];
  return fields;
}

/** Checks that the contact has an address on `channel`. */
export function contactAddress(channel: "email" | "whatsapp", contact: { email: string | null; phone: string | null; attributes: Record<string, unknown> }): string | null {
  if (channel === "email") return contact.email;
  const waId = contact.attributes?.wa_id;
  return contact.phone ?? (typeof waId === "string" && waId ? waId : null);
}

export interface CreateReminderInput {
  template_id: string;
  contact_id: string;
  send_at?: string;
  event_at?: string;
  variables?: Record<string, string>;
  channel_id?: string;
}

export async function createReminder(services: Services, ws: string, input: CreateReminderInput): Promise<ReminderJson> {
  const { db } = services;
  const [tpl, contact, channel] = await Promise.all([
    findTemplate(db, ws, input.template_id),
    db
      .select({ id: contacts.id, email: contacts.email, phone: contacts.phone, attributes: contacts.attributes })
      .from(contacts)
      .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, input.contact_id)))
      .limit(1)
      .then((r) => r[0]),
    input.channel_id
      ? db
          .select({ id: channels.id, type: channels.type })
          .from(channels)
          .where(and(eq(channels.workspaceId, ws), eq(channels.id, input.channel_id)))
          .limit(1)
          .then((r) => r[0])
      : Promise.resolve(undefined),
  ]);
  const fields: Record<string, string[]> = {};
  if (!tpl) fields.template_id = ["No such reminder template in your workspace."];
  else if (!tpl.active) fields.template_id = ["The template is inactive."];
  if (!contact) fields.contact_id = ["No such contact in your workspace."];
  if (input.channel_id) {
    if (!channel) fields.channel_id = ["No such channel in your workspace."];
    else if (tpl && channel.type !== tpl.channel) fields.channel_id = [`The template sends by ${tpl.channel}; this is a ${channel.type} channel.`];
  }
  if (Object.keys(fields).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields } });
  const template = tpl!;
  if (!contactAddress(template.channel, contact!)) {
    throw invalid("contact_id", template.channel === "email" ? "The contact has no email address." : "The contact has no phone number (or WhatsApp id).");
  }
  const { sendAt, eventAt } = sendTime(input, template.offsetMinutes, Date.now());
  const variables = input.variables ?? {};
  const missing = missingVariables(template, variables, eventAt);
  if (Object.keys(missing).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: missing } });

  const [row] = await db
    .insert(reminders)
    .values({ id: newId("rem"), workspaceId: ws, templateId: template.id, contactId: contact!.id, channelId: channel?.id ?? null, eventAt, sendAt, variables })
    .returning();
  await schedule(services, row!);
  return getReminder(db, ws, row!.id);
}

/** The delayed message's payload: send_at pins it to this schedule (a rescheduled reminder's old message finds another send_at and does nothing). */
export const reminderPayload = (r: Pick<ReminderRow, "id" | "workspaceId" | "sendAt">) => ({ workspace_id: r.workspaceId, reminder_id: r.id, send_at: r.sendAt.toISOString() });

/**
 * Publishes the reminder's delayed message and notes its id. The row is already committed: if
 * QStash is unreachable the reminder stays scheduled and the cron sweep sends it when it is due.
 */
async function schedule(services: Services, r: ReminderRow): Promise<void> {
  try {
    const published = await services.queue.publish("reminders", reminderPayload(r), {
      notBefore: r.sendAt,
      deduplicationId: `reminder:${r.id}:${r.sendAt.getTime()}`,
    });
    await services.db
      .update(reminders)
      .set({ qstashMessageId: published.messageId })
      .where(and(eq(reminders.id, r.id), eq(reminders.sendAt, r.sendAt), eq(reminders.status, "scheduled")));
  } catch (err) {
    console.warn(JSON.stringify({ msg: "reminder not published; the sweep will send it", reminder_id: r.id, error: describeError(err) }));
  }
}

/** Cancels a pending delayed message, best effort: a message that still arrives finds nothing to do. */
async function unschedule(services: Services, messageId: string | null): Promise<void> {
  if (!messageId) return;
  await services.queue.cancel(messageId).catch((err) => console.warn(JSON.stringify({ msg: "reminder message not canceled", message_id: messageId, error: describeError(err) })));
}

function stateConflict(r: Pick<ReminderRow, "status">, doing: string): ApiError {
  return new ApiError("conflict", `The reminder is ${r.status}: it can no longer be ${doing}.`, { details: { reason: "invalid_state", status: r.status } });
}

export async function updateReminder(services: Services, ws: string, id: string, patch: { send_at?: string; event_at?: string; variables?: Record<string, string> }): Promise<ReminderJson> {
  const { db } = services;
  const { before, after } = await db.transaction(async (tx) => {
    const [cur] = await tx
      .select({ reminder: reminders, template: reminderTemplates })
      .from(reminders)
      .innerJoin(reminderTemplates, eq(reminderTemplates.id, reminders.templateId))
      .where(and(eq(reminders.workspaceId, ws), eq(reminders.id, id)))
      .for("update", { of: reminders });
    if (!cur) throw notFound("reminder");
    if (cur.reminder.status !== "scheduled") throw stateConflict(cur.reminder, "changed");
    const when = patch.send_at || patch.event_at ? sendTime(patch, cur.template.offsetMinutes, Date.now()) : { sendAt: cur.reminder.sendAt, eventAt: cur.reminder.eventAt };
    // A new send_at without event_at keeps the event the reminder is about.
    const eventAt = patch.event_at ? when.eventAt : cur.reminder.eventAt;
    const variables = patch.variables ?? cur.reminder.variables;
    const missing = missingVariables(cur.template, variables, eventAt);
    if (Object.keys(missing).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: missing } });
    const moved = when.sendAt.getTime() !== cur.reminder.sendAt.getTime();
    const [row] = await tx
      .update(reminders)
      .set({ sendAt: when.sendAt, eventAt, variables, updatedAt: new Date(), ...(moved ? { qstashMessageId: null } : {}) })
      .where(eq(reminders.id, id))
      .returning();
    return { before: cur.reminder, after: row! };
  });
  if (after.sendAt.getTime() !== before.sendAt.getTime()) {
    await unschedule(services, before.qstashMessageId);
    await schedule(services, after);
  }
  return getReminder(db, ws, id);
}

export async function cancelReminder(services: Services, ws: string, id: string): Promise<ReminderJson> {
  const { db } = services;
  const [canceled] = await db
    .update(reminders)
    .set({ status: "canceled", canceledAt: new Date(), updatedAt: new Date() })
    .where(and(eq(reminders.workspaceId, ws), eq(reminders.id, id), eq(reminders.status, "scheduled")))
    .returning();
  if (canceled) {
    await unschedule(services, canceled.qstashMessageId);
  } else {
    const [cur] = await db
      .select({ status: reminders.status })
      .from(reminders)
      .where(and(eq(reminders.workspaceId, ws), eq(reminders.id, id)));
    if (!cur) throw notFound("reminder");
    // Canceling twice is answered like the first time; anything on its way or done is a 409.
    if (cur.status !== "canceled") throw stateConflict(cur, "canceled");
  }
  return getReminder(db, ws, id);
}

// ---- Sending ----

/**
 * The delayed message's work, in the job run's transaction: claims the reminder if it is still
 * scheduled for this very send_at, and sends it.
 */
export async function sendScheduled(tx: Tx, services: Services, p: { workspace_id: string; reminder_id: string; send_at?: string }) {
  const claimed = await tx
    .update(reminders)
    .set({ status: "sending", updatedAt: new Date() })
    .where(
      and(
        eq(reminders.id, p.reminder_id),
        eq(reminders.workspaceId, p.workspace_id),
        eq(reminders.status, "scheduled"),
        // Without send_at (an older message shape) the reminder must simply be due.
        p.send_at ? eq(reminders.sendAt, new Date(p.send_at)) : sql`${reminders.sendAt} <= now()`,
      ),
    )
    .returning();
  if (!claimed.length) {
    const [cur] = await tx.select({ status: reminders.status, sendAt: reminders.sendAt }).from(reminders).where(eq(reminders.id, p.reminder_id));
    const reason = !cur ? "deleted" : cur.status !== "scheduled" ? cur.status : "rescheduled";
    return { sent: 0, skipped: reason };
  }
  const out = await deliverReminders(tx, services, claimed, "job");
  return { sent: out.sent, failed: out.failed };
}

export const SWEEP_BATCH = 500;

/**
 * The cron safety net: claims due reminders in batches (one transaction each; rows another
 * sender holds are skipped, never waited for) and sends them, or, given `tx`, all in that one. `graceSeconds` leaves reminders
 * due only just now to their delayed message. Stops after `budgetMs` and reports what is left.
 */
export async function sweepDue(services: Services, opts: { graceSeconds: number; budgetMs: number; batch?: number; workspaceId?: string; tx?: Tx }) {
  const started = Date.now();
  const batch = opts.batch ?? SWEEP_BATCH;
  let sent = 0;
  let failed = 0;
  let batches = 0;
  for (;;) {
    // Inside a job run (opts.tx) every batch joins the run's transaction: on a single-connection
    // database (PGlite) a second transaction would wait for the run's forever.
    const inBatch = <T>(fn: (tx: Tx) => Promise<T>) => (opts.tx ? fn(opts.tx) : services.db.transaction(fn));
    const done = await inBatch(async (tx) => {
      const ws = opts.workspaceId ? sql`and ${reminders.workspaceId} = ${opts.workspaceId}` : sql``;
      const due = sql`select ${reminders.id} from ${reminders}
        where ${reminders.status} = 'scheduled' and ${reminders.sendAt} <= now() - make_interval(secs => ${opts.graceSeconds}) ${ws}
        order by ${reminders.sendAt} limit ${batch} for update skip locked`;
      const claimed = await tx
        .update(reminders)
        .set({ status: "sending", updatedAt: new Date() })
        .where(sql`${reminders.id} in (${due})`)
        .returning();
      if (!claimed.length) return 0;
      const out = await deliverReminders(tx, services, claimed, "sweep");
      sent += out.sent;
      failed += out.failed;
      return claimed.length;
    });
    if (done) batches++;
    if (done < batch || Date.now() - started > opts.budgetMs) return { sent, failed, batches, more: done === batch };
  }
}
