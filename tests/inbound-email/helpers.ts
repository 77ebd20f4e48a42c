// Helpers for inbound email tests: email channels, route forwards and event webhooks signed as
// Mailgun signs them, and reads.
import { and, eq } from "drizzle-orm";
import { newId } from "../../lib/ids";
import { mailgunSignature, type MailgunSignature } from "../../lib/mailgun-signature";
import { channels, messages } from "../../schema";
import type { Harness, Reply, Tenant } from "../support/harness";

let seq = 0;
const rnd = () => `${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** An inbound address no other test uses (addresses are unique across Parley). */
export const address = (label = "support") => `${label}-${rnd()}@mg.acme.example`;
/** A customer address, unique per call. */
export const customer = (label = "alice") => `${label}.${rnd()}@customer.example`;
/** A Message-Id as a mailer writes it (with brackets). */
export const mid = (host = "mail.customer.example") => `<CAE${rnd()}@${host}>`;

export interface TestEmailChannel {
  id: string;
  address: string;
  signingKey?: string;
}

/** An email channel of `t`'s workspace, written as POST /v1/channels stores it. */
export async function addEmailChannel(h: Harness, t: Tenant, o: { signingKey?: string; address?: string; ownAccount?: boolean } = {}): Promise<TestEmailChannel> {
  const id = newId("ch");
  const addr = (o.address ?? address()).toLowerCase();
  const secrets: Record<string, string> = {};
  const config: Record<string, string> = { address: addr };
  if (o.signingKey) secrets.webhook_signing_key = o.signingKey;
  // The workspace's own Mailgun account: it sends (and signs the events of) this channel's mail.
  if (o.ownAccount) {
    config.mailgun_domain = addr.split("@")[1]!;
    secrets.mailgun_api_key = `key-${rnd()}`;
  }
  await h.services.db.insert(channels).values({ id, workspaceId: t.workspaceId, type: "email", name: "Support email", config, secrets, inboundKey: addr });
  return { id, address: addr, signingKey: o.signingKey };
}

export const platformKey = (h: Harness) => h.services.config.mailgunWebhookSigningKey!;

export interface ForwardOptions {
  /** Signing key (default: the platform's); null posts the fields unsigned. */
  key?: string | null;
  /** Use exactly this signature block (replays, stale timestamps). */
  signature?: MailgunSignature;
  /** Attachments: sent as multipart attachment-1…N with attachment-count. */
  files?: File[];
  /** Force multipart even without files. */
  multipart?: boolean;
}

/** POSTs a route forward with `fields`, signed (fresh token) unless told otherwise. */
export async function postForward(h: Harness, fields: Record<string, string>, o: ForwardOptions = {}): Promise<Reply> {
  const key = o.key === undefined ? platformKey(h) : o.key;
  const sig = o.signature ?? (key === null ? undefined : await mailgunSignature(key));
  const all: Record<string, string> = { ...fields, ...(sig ? { timestamp: sig.timestamp, token: sig.token, signature: sig.signature } : {}) };
  if (o.files?.length || o.multipart) {
    const form = new FormData();
    for (const [k, v] of Object.entries(all)) form.append(k, v);
    if (o.files?.length) {
      form.append("attachment-count", String(o.files.length));
      for (const [i, f] of o.files.entries()) form.append(`attachment-${i + 1}`, f, f.name);
    }
    return h.call("POST", "/inbound/mailgun/messages", { raw: form });
  }
  return h.call("POST", "/inbound/mailgun/messages", { raw: new URLSearchParams(all).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
}

/** POSTs an event webhook body (`{"event-data": …}`) with a `signature` block. */
export async function postEvent(h: Harness, body: Record<string, unknown>, o: { key?: string | null; signature?: MailgunSignature } = {}): Promise<Reply> {
  const key = o.key === undefined ? platformKey(h) : o.key;
  const sig = o.signature ?? (key === null ? undefined : await mailgunSignature(key));
  const payload = sig ? { signature: sig, ...body } : body;
  return h.call("POST", "/inbound/mailgun/events", { raw: JSON.stringify(payload), headers: { "content-type": "application/json" } });
}

export async function messageByExternalId(h: Harness, workspaceId: string, externalId: string) {
  const [row] = await h.services.db
    .select()
    .from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.externalId, externalId)));
  return row;
}

export const bare = (id: string) => id.replace(/^<|>$/g, "");
