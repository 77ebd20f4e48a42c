// Helpers for reminder tests: a workspace with a contact and a template, reminders made through
// the API, and the reminder's QStash message delivered (or the sweep run) as QStash would.
import { and, eq } from "drizzle-orm";
import type { StoredMessage } from "../../lib/local/qstash-store";
import { reminders } from "../../schema";
import { delivery, toRequest } from "../jobs/helpers";
import { type Harness, type Tenant, unique } from "../support/harness";

export const HOUR = 3_600_000;
export const inHours = (h: number) => new Date(Date.now() + h * HOUR).toISOString();

/**
 * A time `hours` past the local QStash clock, which tests move forward (deliverNow): a reminder
 * for then is not delivered before the test asks for it.
 */
export const ahead = (h: Harness, hours: number) => new Date(h.services.qstash!.now() + hours * HOUR).toISOString();

export async function contact(h: Harness, t: Tenant, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Ada Lovelace", email: `${unique("ada")}@example.com`, ...body } });
  if (r.status !== 201) throw new Error(`contact: ${r.status} ${r.text}`);
  return r.body as { id: string; email: string; name: string };
}

export const EMAIL_TEMPLATE = {
  name: "Appointment",
  channel: "email",
  subject: "See you {{event_at}}",
  body: "<p>Hi {{contact.name}}, see you at {{variables.place}}.</p>",
  offset_minutes: -60,
};

export async function template(h: Harness, t: Tenant, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, ...body } });
  if (r.status !== 201) throw new Error(`template: ${r.status} ${r.text}`);
  return r.body as { id: string; offset_minutes: number };
}

export async function reminder(h: Harness, t: Tenant, body: Record<string, unknown>) {
  const r = await h.call("POST", "/v1/reminders", { token: t.token, body: { variables: { place: "the clinic" }, ...body } });
  if (r.status !== 201) throw new Error(`reminder: ${r.status} ${r.text}`);
  return r.body as { id: string; send_at: string; status: string };
}

/** The pending QStash message of a reminder (the newest one when there are several). */
export function pendingFor(h: Harness, reminderId: string): StoredMessage | undefined {
  const all = h.services.qstash!.pending().filter((m) => Buffer.from(m.body, "base64").toString().includes(reminderId));
  return all.sort((a, b) => a.createdAt - b.createdAt).at(-1);
}

/** Lets the local QStash clock reach `m`'s delivery time, and waits until it is delivered. */
export async function deliverNow(h: Harness, m: StoredMessage) {
  const q = h.services.qstash!;
  const wait = m.notBefore - q.now();
  if (wait > 0) q.advance(wait + 1);
  await q.idle();
}

/** Delivers a signed message to /jobs/reminders in-process, as QStash would; returns the job's answer. */
export async function deliverJob(h: Harness, payload: unknown, key = `test:${unique("rem")}`) {
  const base = h.services.config.publicBaseUrl!;
  const d = delivery(base, "reminders", { key, payload }, h.services.config.qstashSigningKeys!.current);
  const res = await h.dispatch(toRequest(d));
  return { status: res.status, body: (await res.json()) as { duplicate: boolean; status: string; run_id: string } };
}

/** Runs the cron sweep for one workspace (so parallel test files do not take each other's reminders). */
export const sweep = (h: Harness, workspaceId: string, graceSeconds = 0) => deliverJob(h, { sweep: true, workspace_id: workspaceId, grace_seconds: graceSeconds });

/** Makes a reminder due `ago` ms ago, as if its time had come (the database clock cannot be moved). */
export async function makeDue(h: Harness, id: string, ago = 2 * 60_000) {
  await h.services.db
    .update(reminders)
    .set({ sendAt: new Date(Date.now() - ago) })
    .where(and(eq(reminders.id, id)));
}

export async function row(h: Harness, id: string) {
  const [r] = await h.services.db.select().from(reminders).where(eq(reminders.id, id));
  return r!;
}
