// What a verified WhatsApp webhook does: customer messages land in the contact's conversation
// on that channel (contact found or created by wa_id, a new conversation otherwise, a resolved
// or snoozed one reopened), each stored once per wamid; statuses move outbound messages along
// queued → sent → delivered → read (never backwards), or to failed with Meta's error.
import { and, desc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Database, Db } from "../../lib/db";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import type { Kv } from "../../lib/kv";
import { channels, contacts, conversations, messages } from "../../schema";
import { insertConversation } from "../conversations/insert";
import { counterSet } from "../conversations/messages.service";

export type ChannelRow = typeof channels.$inferSelect;
type Json = Record<string, unknown>;

/** Who writes what a webhook brings, in events. */
export const WHATSAPP_ACTOR = "whatsapp";
const MAX_CONTENT = 20_000;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 2000): string | undefined => (typeof v === "string" && v.length > 0 ? v.slice(0, max) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One `entry[].changes[]` of a messages webhook, with the phone number it is for. */
export interface Change {
  phoneNumberId: string;
  value: Json;
}

/** The changes of a webhook body, or null when it is not a WhatsApp Business Account webhook. */
export function changesOf(payload: unknown): Change[] | null {
  if (!isObj(payload) || payload.object !== "whatsapp_business_account" || !Array.isArray(payload.entry)) return null;
  const out: Change[] = [];
  for (const entry of payload.entry) {
    if (!isObj(entry)) continue;
    for (const change of arr(entry.changes)) {
      if (!isObj(change) || !isObj(change.value)) continue;
      // Only the `messages` field carries messages and statuses; others (account updates, …) are acknowledged.
      if (change.field !== undefined && change.field !== "messages") continue;
      const meta = change.value.metadata;
      const id = isObj(meta) ? str(meta.phone_number_id, 100) : undefined;
      if (id) out.push({ phoneNumberId: id, value: change.value });
    }
  }
  return out;
}

/** A secret of the channel: write-only fields live in `secrets` (`config` is read for older rows). */
export function channelSecret(ch: Pick<ChannelRow, "secrets" | "config">, name: string): string | undefined {
  const v = ch.secrets?.[name] ?? ch.config?.[name];
  return typeof v === "string" && v ? v : undefined;
}

export async function whatsappChannels(db: Db, phoneNumberIds: string[]): Promise<ChannelRow[]> {
  if (!phoneNumberIds.length) return [];
  return db
    .select()
    .from(channels)
    .where(and(eq(channels.type, "whatsapp"), inArray(channels.inboundKey, phoneNumberIds)));
}

/** True when `token` is the verify token of some WhatsApp channel (a self-managed Meta app). */
export async function isChannelVerifyToken(db: Db, token: string): Promise<boolean> {
  const [row] = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(eq(channels.type, "whatsapp"), sql`coalesce(${channels.secrets} ->> 'verify_token', ${channels.config} ->> 'verify_token') = ${token}`))
    .limit(1);
  return Boolean(row);
}

// ---- messages ----

interface Described {
  content: string;
  /** What the message was, beyond its text: kept in the message's metadata.whatsapp. */
  meta: Json;
}

/** A readable content and the structured rest of one `messages[]` item. */
export function describeMessage(m: Json): Described {
  const type = str(m.type, 50) ?? "unknown";
  const meta: Json = { type };
  const ctx = m.context;
  if (isObj(ctx) && str(ctx.id)) meta.context = { id: str(ctx.id), from: str(ctx.from, 50) };
  const body = isObj(m[type]) ? (m[type] as Json) : {};
  switch (type) {
    case "text":
      return { content: str(body.body, MAX_CONTENT) ?? "", meta };
    case "image":
    case "document":
    case "audio":
    case "video":
    case "sticker": {
      const media = { id: str(body.id, 200), mime_type: str(body.mime_type, 200), sha256: str(body.sha256, 200), caption: str(body.caption, MAX_CONTENT), filename: str(body.filename, 500), voice: body.voice === true ? true : undefined, animated: body.animated === true ? true : undefined };
      meta.media = Object.fromEntries(Object.entries(media).filter(([, v]) => v !== undefined));
      const label = type === "document" && media.filename ? `[document: ${media.filename}]` : `[${type}]`;
      return { content: media.caption ? `${label} ${media.caption}` : label, meta };
    }
    case "location": {
      const lat = typeof body.latitude === "number" ? body.latitude : undefined;
      const lng = typeof body.longitude === "number" ? body.longitude : undefined;
      const name = str(body.name, 500);
      const address = str(body.address, 1000);
      meta.location = Object.fromEntries(Object.entries({ latitude: lat, longitude: lng, name, address, url: str(body.url, 1000) }).filter(([, v]) => v !== undefined));
      const place = [name, address].filter(Boolean).join(", ");
      return { content: `[location] ${place ? `${place} ` : ""}(${lat ?? "?"}, ${lng ?? "?"})`, meta };
    }
    case "interactive": {
      const kind = str(body.type, 50);
      const reply = kind && isObj(body[kind]) ? (body[kind] as Json) : {};
      meta.interactive = { type: kind, id: str(reply.id, 500), title: str(reply.title, 500), description: str(reply.description, 1000) };
      return { content: str(reply.title, MAX_CONTENT) ?? `[interactive ${kind ?? "reply"}]`, meta };
    }
    case "button": {
      // A quick-reply button of a template message.
      meta.button = { payload: str(body.payload, 1000), text: str(body.text, 1000) };
      return { content: str(body.text, MAX_CONTENT) ?? str(body.payload, MAX_CONTENT) ?? "[button]", meta };
    }
    case "reaction": {
      const emoji = str(body.emoji, 50);
      meta.reaction = { message_id: str(body.message_id, 500), emoji: emoji ?? null };
      return { content: emoji ? `[reaction] ${emoji}` : "[reaction removed]", meta };
    }
    case "contacts": {
      const names = arr(m.contacts)
        .map((c) => (isObj(c) && isObj(c.name) ? str(c.name.formatted_name, 200) : undefined))
        .filter(Boolean);
      return { content: `[contacts] ${names.join(", ") || "shared contact"}`, meta };
    }
    default: {
      const errors = arr(m.errors).filter(isObj);
      if (errors.length) meta.errors = errors.map((e) => ({ code: e.code, title: str(e.title, 500) }));
      return { content: `[unsupported message: ${type}]`, meta };
    }
  }
}

/** When the customer sent it: Meta's timestamp (seconds), never in the future. */
function sentAt(ts: unknown, now: Date): Date {
  const n = typeof ts === "string" && /^\d{1,12}$/.test(ts) ? Number(ts) * 1000 : typeof ts === "number" ? ts * 1000 : Number.NaN;
  return Number.isFinite(n) && n > 0 && n <= now.getTime() ? new Date(n) : now;
}

const titleFrom = (content: string) => {
  const line = content.split(/\r?\n/, 1)[0]!.trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || "WhatsApp conversation";
};

export type StoreResult = { stored: true; messageId: string; conversationId: string } | { stored: false; duplicate: true };

/** Stores one inbound message of `ch` (a transaction of its own). */
export async function storeInbound(db: Database, ch: ChannelRow, m: unknown, profiles: Map<string, string>): Promise<StoreResult | null> {
  if (!isObj(m)) return null;
  const wamid = str(m.id, 255);
  const waId = str(m.from, 40)?.replace(/[^0-9]/g, "");
  if (!wamid || !waId) return null;
  const ws = ch.workspaceId;
  const { content, meta } = describeMessage(m);
  const now = new Date();
  const at = sentAt(m.timestamp, now);
  const name = profiles.get(waId);

  return db.transaction(async (tx) => {
    // One sender's messages are stored one at a time: two deliveries of the same webhook (Meta
    // retries) cannot both create the contact or the conversation.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`wa:${ws}:${waId}`}, 0))`);
    const [seen] = await tx
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.workspaceId, ws), eq(messages.externalId, wamid)))
      .limit(1);
    if (seen) return { stored: false, duplicate: true } as const;

    const contactId = await findOrCreateContact(tx, ws, waId, name);
    const conversationId = await openConversation(tx, ch, contactId, waId, content);

    const id = newId("msg");
    const [row] = await tx
      .insert(messages)
      .values({
        id,
        workspaceId: ws,
        conversationId,
        senderType: "contact",
        senderId: contactId,
        content: content.slice(0, MAX_CONTENT),
        status: "complete",
        source: "whatsapp",
        externalId: wamid,
        metadata: { whatsapp: { ...meta, wamid, from: waId, phone_number_id: ch.inboundKey } },
        createdAt: at,
      })
      .onConflictDoNothing()
      .returning({ id: messages.id });
    if (!row) return { stored: false, duplicate: true } as const;
    await tx
      .update(conversations)
      .set(counterSet([{ senderType: "contact", at }]))
      .where(and(eq(conversations.workspaceId, ws), eq(conversations.id, conversationId)));
    await tx
      .update(contacts)
      .set({ lastSeenAt: sql`greatest(${contacts.lastSeenAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(contacts.id, contactId));
    await recordEvent(tx, ws, "message.created", { type: "message", id }, WHATSAPP_ACTOR, {
      conversation_id: conversationId,
      sender_type: "contact",
      source: "whatsapp",
      channel_id: ch.id,
      external_id: wamid,
    });
    return { stored: true, messageId: id, conversationId } as const;
  });
}

async function findOrCreateContact(tx: Db, ws: string, waId: string, name: string | undefined): Promise<string> {
  const phones = [`+${waId}`, waId];
  const find = () =>
    tx
      .select({ id: contacts.id, name: contacts.name })
      .from(contacts)
      .where(and(eq(contacts.workspaceId, ws), inArray(contacts.phone, phones)))
      .orderBy(contacts.createdAt)
      .limit(1);
  const [found] = await find();
  if (found) {
    if (!found.name && name) await tx.update(contacts).set({ name, updatedAt: sql`now()` }).where(eq(contacts.id, found.id));
    return found.id;
  }
  const id = newId("ct");
  const [made] = await tx
    .insert(contacts)
    .values({ id, workspaceId: ws, name: name ?? null, phone: `+${waId}`, attributes: { whatsapp_id: waId } })
    .onConflictDoNothing()
    .returning({ id: contacts.id });
  if (!made) {
    const [again] = await find();
    return again!.id;
  }
  await recordEvent(tx, ws, "contact.created", { type: "contact", id }, WHATSAPP_ACTOR, { source: "whatsapp", phone: `+${waId}` });
  return id;
}

/** Statuses a new customer message brings back to `open`. */
const REOPENS = new Set(["resolved", "snoozed"]);

/**
 * The contact's latest conversation on this channel unless it is closed (reopened when it was
 * resolved or snoozed), else a new one.
 */
async function openConversation(tx: Db, ch: ChannelRow, contactId: string, waId: string, content: string): Promise<string> {
  const ws = ch.workspaceId;
  const [latest] = await tx
    .select({ id: conversations.id, status: conversations.status })
    .from(conversations)
    .where(and(eq(conversations.workspaceId, ws), eq(conversations.contactId, contactId), eq(conversations.channelId, ch.id), ne(conversations.status, "closed")))
    .orderBy(desc(sql`coalesce(${conversations.lastMessageAt}, ${conversations.createdAt})`), desc(conversations.id))
    .limit(1);
  if (latest) {
    if (REOPENS.has(latest.status)) {
      await tx.update(conversations).set({ status: "open", resolvedAt: null, updatedAt: sql`now()` }).where(eq(conversations.id, latest.id));
      await recordEvent(tx, ws, "conversation.status_changed", { type: "conversation", id: latest.id }, WHATSAPP_ACTOR, {
        from: latest.status,
        to: "open",
        reason: "customer_replied",
      });
    }
    return latest.id;
  }
  const row = await insertConversation(
    tx,
    ws,
    { title: titleFrom(content), source: "whatsapp", contactId, channelId: ch.id, metadata: { whatsapp: { wa_id: waId, phone_number_id: ch.inboundKey } } },
    WHATSAPP_ACTOR,
  );
  return row.id;
}

// ---- statuses ----

/** How far along a delivery is: a status only ever moves to a higher rank. */
export const DELIVERY_RANK: Record<string, number> = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };
const STATUS_NAMES = new Set(["sent", "delivered", "read", "failed"]);

const rankSql = sql`(case ${messages.deliveryStatus} when 'queued' then 0 when 'sent' then 1 when 'failed' then 2 when 'delivered' then 3 when 'read' then 4 else 0 end)`;

export interface StatusUpdate {
  wamid: string;
  status: "sent" | "delivered" | "read" | "failed";
  error?: { code: string; message: string };
}

export function parseStatus(s: unknown): StatusUpdate | null {
  if (!isObj(s)) return null;
  const wamid = str(s.id, 255);
  const status = str(s.status, 20);
  if (!wamid || !status || !STATUS_NAMES.has(status)) return null;
  const update: StatusUpdate = { wamid, status: status as StatusUpdate["status"] };
  if (status === "failed") {
    const e = arr(s.errors).find(isObj);
    const code = typeof e?.code === "number" ? e.code : undefined;
    const details = isObj(e?.error_data) ? str(e.error_data.details, 1000) : undefined;
    const title = str(e?.title, 1000) ?? str(e?.message, 1000);
    update.error = {
      code: code === 131047 ? "outside_messaging_window" : code === 131026 ? "undeliverable" : "provider_rejected",
      message: `${details ?? title ?? "WhatsApp could not deliver the message."}${code !== undefined ? ` (Graph error ${code})` : ""}`,
    };
  }
  return update;
}

/**
 * Moves the workspace's message with this wamid to `u.status` if that is further along than
 * where it is. False when no such message moved (unknown wamid, or an out-of-order status).
 */
export async function applyStatus(db: Db, workspaceId: string, u: StatusUpdate): Promise<boolean> {
  const rank = DELIVERY_RANK[u.status]!;
  const set: Record<string, unknown> = { deliveryStatus: u.status, status: u.status };
  set.deliveryError = u.status === "failed" ? (u.error ?? { code: "provider_rejected", message: "WhatsApp could not deliver the message." }) : null;
  const moved = await db
    .update(messages)
    .set(set)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.externalId, u.wamid), sql`${messages.deliveryStatus} is not null`, sql`${rankSql} < ${rank}`))
    .returning({ id: messages.id });
  return moved.length > 0;
}

/**
 * A status can arrive before the delivery job has recorded the wamid Graph gave it (Meta posts
 * `sent` within a second of accepting the message). Such a status is kept here for a while, and
 * the job applies it once the wamid is stored.
 */
export const earlyStatusKey = (workspaceId: string, wamid: string) => `wa:early:${workspaceId}:${wamid}`;
const EARLY_TTL = 15 * 60;

export async function rememberEarlyStatus(kv: Kv, workspaceId: string, u: StatusUpdate): Promise<void> {
  const key = earlyStatusKey(workspaceId, u.wamid);
  const prior = await kv.get(key);
  const before = prior ? (JSON.parse(prior) as StatusUpdate) : undefined;
  if (before && DELIVERY_RANK[before.status]! >= DELIVERY_RANK[u.status]!) return;
  await kv.set(key, JSON.stringify(u), { ex: EARLY_TTL });
}

export async function takeEarlyStatus(kv: Kv, workspaceId: string, wamid: string): Promise<StatusUpdate | undefined> {
  const raw = await kv.get(earlyStatusKey(workspaceId, wamid));
  return raw ? (JSON.parse(raw) as StatusUpdate) : undefined;
}
