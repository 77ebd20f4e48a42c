// Helpers for delivery tests: email channels and conversations made through the API, the
// deliveries job delivered as QStash delivers it, and reads of what was stored and sent.
import { and, eq, sql } from "drizzle-orm";
import { rowsOf } from "../../lib/db";
import { channels, emails, messages } from "../../schema";
import { delivery, eventually, toRequest } from "../jobs/helpers";
import { type Harness, type Tenant, unique } from "../support/harness";

export const address = (label = "support") => `${unique(label)}@mg.acme.example`.toLowerCase();
export const customer = (label = "alice") => `${unique(label)}@customer.example`.toLowerCase();

export interface EmailSetup {
  channelId: string;
  address: string;
  contactId: string;
  contactEmail: string;
  conversationId: string;
}

/** An email channel (optionally with the workspace's own Mailgun account), a contact and their email conversation. */
export async function emailSetup(h: Harness, t: Tenant, o: { config?: Record<string, unknown>; title?: string } = {}): Promise<EmailSetup> {
  const addr = address();
  const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "Support", config: { address: addr, from_name: "Acme Support", ...o.config } } });
  if (ch.status !== 201) throw new Error(`channel: ${ch.status} ${ch.text}`);
  const contactEmail = customer();
  const ct = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Alice Example", email: contactEmail } });
  if (ct.status !== 201) throw new Error(`contact: ${ct.status} ${ct.text}`);
  const conv = await h.call("POST", "/v1/conversations", {
    token: t.token,
    body: { title: o.title ?? "Where is my order?", source: "email", channel_id: ch.body.id, contact_id: ct.body.id },
  });
  if (conv.status !== 201) throw new Error(`conversation: ${conv.status} ${conv.text}`);
  return { channelId: ch.body.id, address: addr, contactId: ct.body.id, contactEmail, conversationId: conv.body.id };
}

/** An agent reply through the API (201, queued). */
export async function reply(h: Harness, t: Tenant, conversationId: string, content: string) {
  const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { content, sender_type: "agent" } });
  if (r.status !== 201) throw new Error(`reply: ${r.status} ${r.text}`);
  return r.body as { id: string; delivery_status: string; status: string };
}

/**
 * Waits until nothing of the workspace is queued any more (the after-commit publish runs in the
 * background, then the job) and the local QStash has nothing due or in flight.
 */
export async function settled(h: Harness, workspaceId: string) {
  const queued = async () =>
    Number(
      rowsOf<{ n: number }>(
        await h.services.db.execute(sql`select (select count(*) from messages where workspace_id = ${workspaceId} and delivery_status = 'queued')
          + (select count(*) from emails where workspace_id = ${workspaceId} and status = 'queued') as n`),
      )[0]?.n ?? 0,
    );
  await eventually(async () => (await queued()) === 0);
  await h.services.qstash!.idle();
}

/** Delivers a signed /jobs/deliveries request in-process, as QStash would; returns the answer. */
export async function deliverJob(h: Harness, payload: unknown, key = `test:${unique("dlv")}`, retried = 0) {
  const d = delivery(h.services.config.publicBaseUrl!, "deliveries", { key, payload }, h.services.config.qstashSigningKeys!.current, { retried });
  const res = await h.dispatch(toRequest(d));
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

export async function messageRow(h: Harness, id: string) {
  const [m] = await h.services.db.select().from(messages).where(eq(messages.id, id));
  return m!;
}

export async function emailOfMessage(h: Harness, workspaceId: string, messageId: string) {
  const [e] = await h.services.db
    .select()
    .from(emails)
    .where(and(eq(emails.workspaceId, workspaceId), eq(emails.messageId, messageId)));
  return e;
}

export async function channelRow(h: Harness, id: string) {
  const [c] = await h.services.db.select().from(channels).where(eq(channels.id, id));
  return c!;
}

/**
 * Holds the local QStash's deliveries to /jobs/* (they wait, in flight) until `release()`, which
 * lets them through and puts the harness's own dispatch back: "before the job runs" made exact.
 */
export function holdDeliveries(h: Harness) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const through = (req: Request) => (new URL(req.url).origin === new URL(h.services.config.publicBaseUrl!).origin ? h.dispatch(req) : fetch(req));
  h.services.qstash!.deliverVia(async (req) => {
    await gate;
    return through(req);
  });
  return {
    release() {
      h.services.qstash!.deliverVia(through);
      open();
    },
  };
}
