// Channels as every area sees them: the per-type configuration schemas (which fields are public
// config, which are write-only secrets), the inbound routing key, and the lookups the delivery
// job and the inbound webhooks use. The admin function's CRUD is built on these.
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { channels } from "../schema/channels";
import type { Db } from "./db";
import { noControlChars, storableText } from "./safe-text";

export type ChannelRow = typeof channels.$inferSelect;
export type ChannelType = ChannelRow["type"];

const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "Must not be empty.")
    .max(max, `Must be at most ${max} characters.`)
    .refine((s) => noControlChars(s) && storableText(s), "Must not contain control characters.");

/** A secret as given (API key, token): no surrounding spaces, no control characters. */
const secret = (max = 512) => line(max).openapi({ description: "Write-only: never returned.", example: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0" });

export const EmailAddress = z
  .string()
  .trim()
  .max(254, "Must be at most 254 characters.")
  .email("Must be an email address.")
  .transform((s) => s.toLowerCase())
  .openapi({ example: "support@mg.acme.example" });

const Hostname = z
  .string()
  .trim()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, "Must be a domain name like mg.acme.example.")
  .transform((s) => s.toLowerCase())
  .openapi({ example: "mg.acme.example" });

const Digits = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]{1,32}$/, `Must be the ${what} (digits only).`);

const HttpsUrl = z
  .string()
  .trim()
  .max(2048)
  .url("Must be a URL.")
  .refine((u) => /^https?:\/\//i.test(u), "Must be an http(s) URL.");

/** Per type: the fields its `config` takes, all optional here (required ones are checked by `complete`). */
export const CONFIG_FIELDS = {
  email: {
    address: EmailAddress.openapi({ description: "The inbound recipient Mailgun forwards to Parley (unique across Parley)." }),
    from_name: line(200).openapi({ example: "Acme Support" }),
    from_address: EmailAddress.openapi({ description: "Defaults to `address`.", example: "support@acme.example" }),
    mailgun_domain: Hostname.openapi({ description: "The workspace's own Mailgun sending domain (with `mailgun_api_key`)." }),
    mailgun_api_key: secret(),
    webhook_signing_key: secret(),
  },
  whatsapp: {
    phone_number_id: Digits("WhatsApp phone number id").openapi({ example: "106540352242922", description: "Meta's phone number id (unique across Parley)." }),
    access_token: secret(1024),
    business_account_id: Digits("WhatsApp Business Account id").openapi({ example: "102290129340398" }),
    app_secret: secret(),
    verify_token: line(200).openapi({ example: "my-verify-token", description: "What Meta's verification GET must present (self-managed app)." }),
  },
  web: {
    website_url: HttpsUrl.openapi({ example: "https://www.acme.example" }),
    welcome_message: line(500).openapi({ example: "Hi! How can we help?" }),
  },
  api: {
    description: line(500).openapi({ example: "Orders placed through the partner portal" }),
  },
} as const satisfies Record<ChannelType, Record<string, z.ZodType>>;

/** Write-only fields per type: stored in `channels.secrets`, never in a response. */
export const SECRET_FIELDS: Record<ChannelType, readonly string[]> = {
  email: ["mailgun_api_key", "webhook_signing_key"],
  whatsapp: ["access_token", "app_secret"],
  web: [],
  api: [],
};

/** Fields a channel of the type must have. */
export const REQUIRED_FIELDS: Record<ChannelType, readonly string[]> = {
  email: ["address"],
  whatsapp: ["phone_number_id", "access_token"],
  web: [],
  api: [],
};

/** Fields that must be given together (a Mailgun domain is useless without its key). */
const TOGETHER: Partial<Record<ChannelType, ReadonlyArray<readonly [string, string]>>> = {
  email: [["mailgun_domain", "mailgun_api_key"]],
};

/** The strict config schema of a type (every field optional; unknown fields refused). */
export function configSchema(type: ChannelType, opts: { nullable?: boolean } = {}) {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, s] of Object.entries(CONFIG_FIELDS[type])) shape[k] = opts.nullable ? (s as z.ZodType).nullable().optional() : (s as z.ZodType).optional();
  return z.strictObject(shape);
}

/** The config schema a new channel of the type is created with: required fields required. */
export function createConfigSchema(type: ChannelType) {
  const required = new Set(REQUIRED_FIELDS[type]);
  const shape: Record<string, z.ZodType> = {};
  for (const [k, s] of Object.entries(CONFIG_FIELDS[type])) shape[k] = required.has(k) ? (s as z.ZodType) : (s as z.ZodType).optional();
  return z.strictObject(shape);
}

/** Field → messages for what a merged config lacks (required fields, fields given together). */
export function incompleteFields(type: ChannelType, merged: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of REQUIRED_FIELDS[type]) if (merged[f] === undefined || merged[f] === null) out[`config.${f}`] = ["Required."];
  for (const [a, b] of TOGETHER[type] ?? []) {
    const hasA = merged[a] != null;
    const hasB = merged[b] != null;
    if (hasA !== hasB) out[`config.${hasA ? b : a}`] = [`Required together with ${hasA ? a : b}.`];
  }
  return out;
}

/** Splits a validated config into its public part and its secrets (null/undefined dropped). */
export function splitConfig(type: ChannelType, config: Record<string, unknown>) {
  const secretNames = new Set(SECRET_FIELDS[type]);
  const pub: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null) continue;
    if (secretNames.has(k)) secrets[k] = String(v);
    else pub[k] = v;
  }
  return { config: pub, secrets };
}

/** The key that routes inbound traffic to the channel (unique across Parley), or null. */
export function inboundKeyOf(type: ChannelType, config: Record<string, unknown>): string | null {
  if (type === "email") return typeof config.address === "string" ? config.address.toLowerCase() : null;
  if (type === "whatsapp") return typeof config.phone_number_id === "string" ? config.phone_number_id : null;
  return null;
}

/** A workspace's channel by id (any type), or undefined. */
export async function findChannel(db: Db, workspaceId: string, id: string): Promise<ChannelRow | undefined> {
  const [row] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id)))
    .limit(1);
  return row;
}

/** The channel that inbound traffic for `key` (an email address, a phone_number_id) belongs to. */
export async function channelByInboundKey(db: Db, type: "email" | "whatsapp", key: string): Promise<ChannelRow | undefined> {
  const [row] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.type, type), eq(channels.inboundKey, type === "email" ? key.trim().toLowerCase() : key.trim())))
    .limit(1);
  return row;
}

/** Marks a channel broken (e.g. a revoked token) or healthy again, with a reason an admin can act on. */
export async function setChannelStatus(db: Db, ch: Pick<ChannelRow, "workspaceId" | "id">, status: ChannelRow["status"], reason: string | null): Promise<void> {
  await db
    .update(channels)
    .set({ status, statusReason: reason, updatedAt: new Date() })
    .where(and(eq(channels.workspaceId, ch.workspaceId), eq(channels.id, ch.id)));
}
