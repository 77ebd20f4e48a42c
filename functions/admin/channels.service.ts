// Channels CRUD: the one place its SQL lives. Config arrives validated per type; secrets are
// split off into `channels.secrets` and only their presence ever leaves this module.
import { and, asc, count, desc, eq, ne, sql } from "drizzle-orm";
import {
  type ChannelRow,
  type ChannelType,
  configSchema,
  inboundKeyOf,
  incompleteFields,
  SECRET_FIELDS,
  splitConfig,
} from "../../lib/channels";
import type { Db } from "../../lib/db";
import { ApiError, fieldErrors, notFound, uniqueViolation } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { channels } from "../../schema/channels";
import type { CHANNEL_SORTS } from "./channels.schemas";

export type ChannelSort = (typeof CHANNEL_SORTS)[number];

const INBOUND_PATH: Partial<Record<ChannelType, string>> = { email: "/inbound/mailgun/messages", whatsapp: "/inbound/whatsapp" };

/** The API's view of a channel: public config, which secrets are set, never their values. */
export function channelJson(row: ChannelRow, baseUrl: string) {
  const secretsSet: Record<string, boolean> = {};
  for (const f of SECRET_FIELDS[row.type]) secretsSet[f] = typeof row.secrets?.[f] === "string" && row.secrets[f]!.length > 0;
  const path = INBOUND_PATH[row.type];
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    config: row.config,
    secrets_set: secretsSet,
    status: row.status,
    status_reason: row.statusReason,
    inbound_url: path ? `${baseUrl.replace(/\/+$/, "")}${path}` : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function inboundTaken(type: ChannelType): ApiError {
  const field = type === "email" ? "address" : "phone_number_id";
  const what = type === "email" ? "email address" : "WhatsApp phone number id";
  // Never says which workspace holds it.
  return new ApiError("conflict", `This ${what} is already used by a channel.`, { details: { fields: { [`config.${field}`]: [`This ${what} is already used by a channel.`] } } });
}

async function assertInboundFree(db: Db, type: ChannelType, key: string | null, exceptId?: string) {
  if (!key) return;
  const conds = [eq(channels.type, type), eq(channels.inboundKey, key)];
  if (exceptId) conds.push(ne(channels.id, exceptId));
  const [hit] = await db
    .select({ id: channels.id })
    .from(channels)
    .where(and(...conds))
    .limit(1);
  if (hit) throw inboundTaken(type);
}

export async function createChannel(db: Db, workspaceId: string, input: { type: ChannelType; name: string; config: Record<string, unknown> }): Promise<ChannelRow> {
  const missing = incompleteFields(input.type, input.config);
  if (Object.keys(missing).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: missing } });
  const { config, secrets } = splitConfig(input.type, input.config);
  const inboundKey = inboundKeyOf(input.type, config);
  await assertInboundFree(db, input.type, inboundKey);
  try {
    const [row] = await db
      .insert(channels)
      .values({ id: newId("ch"), workspaceId, type: input.type, name: input.name, config, secrets, inboundKey })
      .returning();
    return row!;
  } catch (err) {
    if (uniqueViolation(err)) throw inboundTaken(input.type);
    throw err;
  }
}

export async function listChannels(db: Db, workspaceId: string, page: Page, sort: SortSpec<ChannelSort>, type?: ChannelType) {
  const where = and(eq(channels.workspaceId, workspaceId), type ? eq(channels.type, type) : undefined);
  const col = { created_at: channels.createdAt, updated_at: channels.updatedAt, name: sql`lower(${channels.name})` }[sort.field];
  const dir = sort.direction === "asc" ? asc : desc;
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(channels)
      .where(where)
      .orderBy(dir(col), dir(channels.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: count() }).from(channels).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function getChannel(db: Db, workspaceId: string, id: string): Promise<ChannelRow> {
  const [row] = await db
    .select()
    .from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id)))
    .limit(1);
  if (!row) throw notFound("channel");
  return row;
}

/**
 * Renames and/or merges a config patch into the channel (`null` removes a field or secret).
 * Any config change sets the channel back to `active`: the admin fixed what was wrong, and
 * the next delivery tells if not.
 */
export async function updateChannel(db: Db, workspaceId: string, id: string, patch: { name?: string; config?: Record<string, unknown> }): Promise<ChannelRow> {
  const current = await getChannel(db, workspaceId, id);
  const set: Partial<typeof channels.$inferInsert> = { updatedAt: new Date() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.config !== undefined) {
    const parsed = configSchema(current.type, { nullable: true }).safeParse(patch.config);
    if (!parsed.success) {
      const fields = fieldErrors(parsed.error.issues.map((i) => ({ ...i, path: ["config", ...i.path] })));
      throw new ApiError("validation_error", "The request body is invalid.", { details: { fields } });
    }
    const merged: Record<string, unknown> = { ...current.config, ...current.secrets };
    for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) merged[k] = v;
    const missing = incompleteFields(current.type, merged);
    if (Object.keys(missing).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: missing } });
    const { config, secrets } = splitConfig(current.type, merged);
    const inboundKey = inboundKeyOf(current.type, config);
    if (inboundKey !== current.inboundKey) await assertInboundFree(db, current.type, inboundKey, id);
    Object.assign(set, { config, secrets, inboundKey, status: "active" as const, statusReason: null });
  }
  try {
    const [row] = await db
      .update(channels)
      .set(set)
      .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id)))
      .returning();
    if (!row) throw notFound("channel");
    return row;
  } catch (err) {
    if (uniqueViolation(err)) throw inboundTaken(current.type);
    throw err;
  }
}

/** Deletes the channel; its conversations stay (with their `channel_id`) and stop delivering. */
export async function deleteChannel(db: Db, workspaceId: string, id: string): Promise<void> {
  const gone = await db
    .delete(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id)))
    .returning({ id: channels.id });
  if (!gone.length) throw notFound("channel");
}
