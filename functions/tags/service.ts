// Workspace tags and entity tags (contacts, sessions, conversations): the one place their SQL
// lives. Other areas tag through these functions so events and auto-creation stay uniform.
import { and, asc, desc, eq, inArray, type Placeholder, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError, notFound, uniqueViolation } from "../../lib/errors";
import { noteEvents, recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { contactTags, conversationTags, events, sessionTags, tags } from "../../schema";

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
  if (inserted.length) {
    await recordEvent(db, workspaceId, "tag.added", { type: kind, id: entityId }, actor, { tag: tag.name, tag_id: tag.id });
    // What automations and webhooks subscribe to (API.md's automation events).
    if (kind === "conversation") await recordEvent(db, workspaceId, "conversation.tagged", { type: "conversation", id: entityId }, actor, { conversation_id: entityId, tag: tag.name, tag_id: tag.id });
  }
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

/**
 * SQL condition "entity has a tag with this name", for list filters. The tag's id is looked up
 * once (names are unique per workspace, so the subquery has at most one row) and each entity is
 * then checked with an index-only probe of the join table's primary key, instead of a join to
 * `tags` per row. The workspace is implied: the tag id is this workspace's.
 */
export function hasTagCondition(kind: TaggedKind, entityColumn: Parameters<typeof eq>[0], workspaceId: string | Placeholder, name: string | Placeholder) {
  const j = JOIN[kind];
  // A placeholder (prepared list queries) is bound later: its caller passes the name normalized.
  const tagName = typeof name === "string" ? normalizeTagName(name) : name;
  const tagId = sql`(select ${tags.id} from ${tags} where ${tags.workspaceId} = ${workspaceId} and lower(${tags.name}) = lower(${tagName}))`;
  return sql`exists (select 1 from ${j.table} where ${j.entity} = ${entityColumn} and ${j.tag} = ${tagId})`;
}

// ---- Workspace tags CRUD ----

export const TAG_SORTS = ["created_at", "updated_at", "name"] as const;
export type TagSort = (typeof TAG_SORTS)[number];

const tagCounts = {
  contacts: sql<number>`(select count(*)::int from ${contactTags} where ${contactTags.tagId} = ${tags.id})`,
  sessions: sql<number>`(select count(*)::int from ${sessionTags} where ${sessionTags.tagId} = ${tags.id})`,
  conversations: sql<number>`(select count(*)::int from ${conversationTags} where ${conversationTags.tagId} = ${tags.id})`,
};

export type TagCounts = { contacts: number; sessions: number; conversations: number };
export const tagWithCountsJson = (t: TagRow, counts: TagCounts) => ({ ...tagJson(t), counts });

export async function listTags(db: Db, workspaceId: string, page: Page, sort: SortSpec<TagSort>) {
  const col = { created_at: tags.createdAt, updated_at: tags.updatedAt, name: sql`lower(${tags.name})` }[sort.field];
  const dir = sort.direction === "asc" ? asc : desc;
  const where = eq(tags.workspaceId, workspaceId);
  const [rows, [count]] = await Promise.all([
    db
      .select({ tag: tags, contacts: tagCounts.contacts, sessions: tagCounts.sessions, conversations: tagCounts.conversations })
      .from(tags)
      .where(where)
      .orderBy(dir(col), dir(tags.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(tags).where(where),
  ]);
  return {
    total: Number(count?.n ?? 0),
    rows: rows.map((r) => tagWithCountsJson(r.tag, { contacts: Number(r.contacts), sessions: Number(r.sessions), conversations: Number(r.conversations) })),
  };
}

export async function getTagWithCounts(db: Db, workspaceId: string, id: string) {
  const [r] = await db
    .select({ tag: tags, contacts: tagCounts.contacts, sessions: tagCounts.sessions, conversations: tagCounts.conversations })
    .from(tags)
    .where(and(eq(tags.workspaceId, workspaceId), eq(tags.id, id)))
    .limit(1);
  if (!r) throw notFound("tag");
  return tagWithCountsJson(r.tag, { contacts: Number(r.contacts), sessions: Number(r.sessions), conversations: Number(r.conversations) });
}

function nameTaken(existing: TagRow): ApiError {
  return new ApiError("conflict", `A tag named '${existing.name}' already exists.`, {
    details: { existing_tag_id: existing.id, fields: { name: ["A tag with this name already exists."] } },
  });
}

export async function createTag(db: Db, workspaceId: string, input: { name: string; color?: string | null; description?: string | null }): Promise<TagRow> {
  const existing = await findTagByName(db, workspaceId, input.name);
  if (existing) throw nameTaken(existing);
  const [created] = await db
    .insert(tags)
    .values({ id: newId("tag"), workspaceId, name: normalizeTagName(input.name), color: input.color ?? null, description: input.description || null })
    .onConflictDoNothing()
    .returning();
  if (created) return created;
  // Lost a race with a concurrent creator of the same name.
  const winner = await findTagByName(db, workspaceId, input.name);
  throw winner ? nameTaken(winner) : new ApiError("conflict", "A tag with this name already exists.");
}

export async function updateTag(
  db: Db,
  workspaceId: string,
  id: string,
  patch: { name?: string; color?: string | null; description?: string | null },
): Promise<TagRow> {
  if (patch.name !== undefined) {
    const existing = await findTagByName(db, workspaceId, patch.name);
    if (existing && existing.id !== id) throw nameTaken(existing);
  }
  const set: Partial<typeof tags.$inferInsert> = { updatedAt: new Date() };
  if (patch.name !== undefined) set.name = normalizeTagName(patch.name);
  if (patch.color !== undefined) set.color = patch.color;
  if (patch.description !== undefined) set.description = patch.description || null;
  try {
    const [row] = await db
      .update(tags)
      .set(set)
      .where(and(eq(tags.workspaceId, workspaceId), eq(tags.id, id)))
      .returning();
    if (!row) throw notFound("tag");
    return row;
  } catch (err) {
    if (!uniqueViolation(err) || patch.name === undefined) throw err;
    const winner = await findTagByName(db, workspaceId, patch.name);
    throw winner ? nameTaken(winner) : new ApiError("conflict", "A tag with this name already exists.");
  }
}

/**
 * Deletes a workspace tag; the foreign keys remove it from every entity. One `tag.removed`
 * event per entity that carried it, so automations and webhooks see the removals too.
 * Call inside a transaction.
 */
export async function deleteTag(db: Db, workspaceId: string, id: string, actor: string): Promise<void> {
  const [tag] = await db
    .select()
    .from(tags)
    .where(and(eq(tags.workspaceId, workspaceId), eq(tags.id, id)))
    .for("update")
    .limit(1);
  if (!tag) throw notFound("tag");
  const carriers: Array<{ type: TaggedKind; id: string }> = [];
  for (const kind of ["contact", "session", "conversation"] as const) {
    const j = JOIN[kind];
    const rows = await db
      .select({ id: j.entity })
      .from(j.table)
      .where(and(eq(j.ws, workspaceId), eq(j.tag, id)));
    for (const r of rows) carriers.push({ type: kind, id: r.id });
  }
  const at = new Date();
  for (let i = 0; i < carriers.length; i += 500) {
    await db.insert(events).values(
      carriers.slice(i, i + 500).map((e) => ({
        id: newId("evt"),
        workspaceId,
        type: "tag.removed",
        entityType: e.type,
        entityId: e.id,
        actor,
        data: { tag: tag.name, tag_id: tag.id, reason: "tag_deleted" },
        createdAt: at,
      })),
    );
  }
  await db.delete(tags).where(and(eq(tags.workspaceId, workspaceId), eq(tags.id, id)));
  if (carriers.length) noteEvents(workspaceId);
}
