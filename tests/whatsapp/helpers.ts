// Helpers for WhatsApp tests: channels, Meta-shaped webhooks signed as Meta signs them, and reads.
import { and, eq } from "drizzle-orm";
import { newId } from "../../lib/ids";
import { signWebhook } from "../../lib/whatsapp";
import { channels, messages } from "../../schema";
import type { Harness, Reply, Tenant } from "../support/harness";

let seq = 0;
/** A phone_number_id no other test uses (they are unique across Parley). */
export const phoneNumberId = () => `1065${Date.now().toString().slice(-7)}${(seq++).toString().padStart(4, "0")}${Math.floor(Math.random() * 1000)}`;
/** A customer's wa_id (digits, no +), unique per call. */
export const waId = () => `1650${Math.floor(Math.random() * 1e7).toString().padStart(7, "0")}${(seq++ % 100).toString().padStart(2, "0")}`;

export interface TestChannel {
  id: string;
  phoneNumberId: string;
  accessToken: string;
  appSecret?: string;
}

/** A WhatsApp channel of `t`'s workspace, written directly (what POST /v1/channels stores). */
export async function addChannel(h: Harness, t: Tenant, o: { appSecret?: string; verifyToken?: string; accessToken?: string; phoneNumberId?: string } = {}): Promise<TestChannel> {
  const id = newId("ch");
  const pnid = o.phoneNumberId ?? phoneNumberId();
  const accessToken = o.accessToken ?? `EAAG${Math.random().toString(36).slice(2)}`;
  const secrets: Record<string, string> = { access_token: accessToken };
  if (o.appSecret) secrets.app_secret = o.appSecret;
  const config: Record<string, string> = { phone_number_id: pnid };
  if (o.verifyToken) config.verify_token = o.verifyToken;
  await h.services.db.insert(channels).values({ id, workspaceId: t.workspaceId, type: "whatsapp", name: "WhatsApp", config, secrets, inboundKey: pnid });
  return { id, phoneNumberId: pnid, accessToken, appSecret: o.appSecret };
}

export const platformSecret = (h: Harness) => h.services.config.whatsapp.appSecret!;

/** POSTs `payload` (an object, or raw text) to /inbound/whatsapp signed with `secret` (null: unsigned). */
export async function postWebhook(h: Harness, payload: unknown, secret: string | null, o: { signature?: string } = {}): Promise<Reply> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.signature !== undefined) headers["x-hub-signature-256"] = o.signature;
  else if (secret !== null) headers["x-hub-signature-256"] = await signWebhook(body, secret);
  return h.call("POST", "/inbound/whatsapp", { raw: body, headers });
}

/**
 * Replaces Meta's sample phone_number_id (and, when given, the sender) in a sample payload, and
 * makes its message ids unique (Meta's samples share theirs; every test wants its own message).
 */
export function retarget<T>(sample: T, pnid: string, sender?: string, from = "16505551234"): T {
  let s = JSON.stringify(sample).replaceAll("106540352242922", pnid);
  if (sender) s = s.replaceAll(from, sender);
  const out = JSON.parse(s) as { entry?: Array<{ changes?: Array<{ value?: { messages?: Array<{ id: string }> } }> }> };
  for (const e of out.entry ?? []) for (const c of e.changes ?? []) for (const m of c.value?.messages ?? []) m.id = `${m.id.replace(/=+$/, "")}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 8)}=`;
  return out as T;
}

export async function messageByWamid(h: Harness, workspaceId: string, wamid: string) {
  const [row] = await h.services.db
    .select()
    .from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.externalId, wamid)));
  return row;
}

/** The id of the first message of a webhook payload. */
export const wamidOf = (payload: unknown): string => (payload as { entry: Array<{ changes: Array<{ value: { messages: Array<{ id: string }> } }> }> }).entry[0]!.changes[0]!.value.messages[0]!.id;
