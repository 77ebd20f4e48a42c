// Workspace tags and entity tags (contacts, sessions, conversations): the one place their SQL
// lives. Other areas tag through these functions so events and auto-creation stay uniform.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { contactTags, conversationTags, sessionTags, tags } from "../../schema";

export type TagRow = typeof tags.$inferSelect;
export type TaggedKind = "contact" | "session" | "conversation";

export const tagJson = (t: TagRow) => ({
  id: t.id,
  name: t.name,
  color: t.color,
  description: t.description,
  created_at: t.createdAt.toISOString(),
  updated_at: t.updatedAt.toISOString(),
});
export type TagJson = ReturnType<typeof tagJson>;

/** Tag names are case-insensitively unique per workspace; surrounding spaces are dropped. */
export const normalizeTagName = (name: string) => name.trim();

const JOIN = {
  contact: { table: contactTags, entity: contactTags.contactId, tag: contactTags.tagId, ws: contactTags.workspaceId },
  session: { table: sessionTags, entity: sessionTags.sessionId, tag: sessionTags.tagId, ws: sessionTags.workspaceId },
  conversation: { table: conversationTags, entity: conversationTags.conversationId, tag: conversationTags.tagId, ws: conversationTags.workspaceId },
} as const;

export async function findTagByName(db: Db, workspaceId: string, name: string): Promise<TagRow | undefined> {
  const [row] = await db
    .select()
    .from(tags)
    .where(and(eq(tags.workspaceId, workspaceId), sql`lower(${tags.name}) = lower(${normalizeTagName(name)})`))
    .limit(1);
  return row;
}

/** Finds the workspace tag by name or creates it (race-safe: a concurrent creator wins). */
export async function ensureTag(db: Db, workspaceId: string, name: string): Promise<TagRow> {
  const existing = await findTagByName(db, workspaceId, name);
  if (existing) return existing;
  const [created] = await db
    .insert(tags)
    .values({ id: newId("tag"), workspaceId, name: normalizeTagName(name) })
    .onConflictDoNothing()
    .returning();
  return created ?? (await findTagByName(db, workspaceId, name))!;
}

/** Tags an entity by tag name (creating the workspace tag when unknown); idempotent. */
export async function addEntityTag(db: Db, workspaceId: string, kind: TaggedKind, entityId: string, name: string, actor: string): Promise<TagRow> {
  const tag = await ensureTag(db, workspaceId, name);
  const j = JOIN[kind];
  const inserted = await db
    .insert(j.table)
    .values({ workspaceId, [`${kind}Id`]: entityId, tagId: tag.id } as never)
    .onConflictDoNothing()
    .returning();
  if (inserted.length) await recordEvent(db, workspaceId, "tag.added", { type: kind, id: entityId }, actor, { tag: tag.name, tag_id: tag.id });
  return tag;
}

/** Removes a tag (by name or tag id) from an entity; false when it was not there. */
export async function removeEntityTag(db: Db, workspaceId: string, kind: TaggedKind, entityId: string, nameOrId: string, actor: string): Promise<boolean> {
  const tag = nameOrId.startsWith("tag_")
    ? ((await db.select().from(tags).where(and(eq(tags.workspaceId, workspaceId), eq(tags.id, nameOrId))).limit(1))[0] ?? (await findTagByName(db, workspaceId, nameOrId)))
    : await findTagByName(db, workspaceId, nameOrId);
  if (!tag) return false;
  const j = JOIN[kind];
  const removed = await db
    .delete(j.table)
    .where(and(eq(j.ws, workspaceId), eq(j.entity, entityId), eq(j.tag, tag.id)))
    .returning();
  if (removed.length) await recordEvent(db, workspaceId, "tag.removed", { type: kind, id: entityId }, actor, { tag: tag.name, tag_id: tag.id });
  return removed.length > 0;
}

/** Tags of many entities at once (no N+1 in lists): entity id → tags, by name. */
export async function tagsOf(db: Db, workspaceId: string, kind: TaggedKind, entityIds: string[]): Promise<Map<string, TagRow[]>> {
  const out = new Map<string, TagRow[]>(entityIds.map((id) => [id, []]));
  if (!entityIds.length) return out;
  const j = JOIN[kind];
  const rows = await db
    .select({ entityId: j.entity, tag: tags })
    .from(j.table)
    .innerJoin(tags, eq(tags.id, j.tag))
    .where(and(eq(j.ws, workspaceId), inArray(j.entity, entityIds)))
    .orderBy(tags.name);
  for (const r of rows) out.get(r.entityId)?.push(r.tag);
  return out;
}

/** SQL condition "entity has a tag with this name", for list filters. */
export function hasTagCondition(kind: TaggedKind, entityColumn: Parameters<typeof eq>[0], workspaceId: string, name: string) {
  const j = JOIN[kind];
  return sql`exists (select 1 from ${j.table} inner join ${tags} on ${tags.id} = ${j.tag} where ${j.entity} = ${entityColumn} and ${j.ws} = ${workspaceId} and lower(${tags.name}) = lower(${normalizeTagName(name)}))`;
}
