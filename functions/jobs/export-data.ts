// The rows of an export: the next `limit` conversations after a cursor that pass the export's
// filters (the same filters and semantics as search: functions/conversations/search.service.ts),
// oldest first, with their contact, tags, summary fields and optionally messages and attachments.
import { type SQL, sql } from "drizzle-orm";
import { type Db, rowsOf } from "../../lib/db";
import type { ExportFilters, ExportOptions } from "../../schema/exports";
import { searchWhere } from "../conversations/search.service";
import type { ExportAttachment, ExportConversation, ExportMessage } from "./export-render";

export interface Cursor {
  created_at: string;
  id: string;
}

interface Row {
  id: string;
  title: string;
  status: string;
  source: string;
  created_at: string | Date;
  cursor_at: string;
  updated_at: string | Date;
  contact_id: string | null;
  assignee_id: string | null;
  summary: { sentiment?: unknown; topics?: unknown; content?: unknown } | null;
  message_count: number;
  tag_ids: string[] | null;
}

const iso = (v: string | Date) => (v instanceof Date ? v : new Date(v)).toISOString();

/** How many conversations the export will hold (counted when it is requested). */
export async function countMatching(db: Db, workspaceId: string, filters: ExportFilters): Promise<number> {
  const r = await db.execute(sql`select count(*)::int as n from conversations c where ${searchWhere(workspaceId, null, filters)}`);
  return Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0);
}

/**
 * The next `limit` conversations after `cursor`, and whether more follow (one row is read
 * beyond the chunk). A fixed number of statements per chunk whatever its size: the
 * conversations (the (workspace_id, created_at, id) index in order), then, at once, their
 * contacts and tag names by id (tag ids from conversations.tag_ids) and, when asked for, their
 * messages and attachments. No statement joins per row: a correlated tag subquery cost ~0.25 ms
 * a conversation, and without statistics (PGlite is never analyzed) the contact join became a
 * nested loop over the workspace's contacts.
 */
export async function loadChunk(db: Db, workspaceId: string, filters: ExportFilters, options: ExportOptions, cursor: Cursor | null, limit: number) {
  const after: SQL = cursor ? sql` and (c.created_at, c.id) > (${cursor.created_at}::timestamptz, ${cursor.id})` : sql``;
  const r = await db.execute(sql`
    select c.id, c.title, c.status, c.source, c.created_at, c.created_at::text as cursor_at, c.updated_at,
      c.contact_id, c.assignee_id, c.summary, c.message_count, c.tag_ids
    from conversations c
    where ${searchWhere(workspaceId, null, filters)}${after}
    order by c.created_at, c.id
    limit ${limit + 1}`);
  const all = rowsOf<Row>(r);
  const more = all.length > limit;
  const rows = more ? all.slice(0, limit) : all;
  const ids = rows.map((x) => x.id);
  const contactIds = [...new Set(rows.map((x) => x.contact_id).filter((x): x is string => !!x))];
  const tagIds = [...new Set(rows.flatMap((x) => x.tag_ids ?? []))];
  const [people, tagNames, messages, attachments] = await Promise.all([
    contactIds.length ? loadContacts(db, workspaceId, contactIds) : new Map<string, { name: string | null; email: string | null }>(),
    tagIds.length ? loadTagNames(db, workspaceId, tagIds) : new Map<string, { name: string; rank: number }>(),
    options.include_messages && ids.length ? loadMessages(db, workspaceId, ids) : new Map<string, ExportMessage[]>(),
    options.include_attachments && ids.length ? loadAttachments(db, workspaceId, ids) : new Map<string, ExportAttachment[]>(),
  ]);
  const data: ExportConversation[] = rows.map((x) => {
    const s = x.summary ?? {};
    const person = x.contact_id ? people.get(x.contact_id) : undefined;
    const named = (x.tag_ids ?? []).flatMap((id) => tagNames.get(id) ?? []).sort((a, b) => a.rank - b.rank);
    const c: ExportConversation = {
      id: x.id,
      title: x.title,
      status: x.status,
      source: x.source,
      created_at: iso(x.created_at),
      updated_at: iso(x.updated_at),
      // A contact of another workspace (whatever the foreign key says) is not looked up: no name or email.
      contact: x.contact_id ? { id: x.contact_id, name: person?.name ?? null, email: person?.email ?? null } : null,
      assignee_id: x.assignee_id,
      tags: named.map((t) => t.name),
      sentiment: typeof s.sentiment === "string" ? s.sentiment : null,
      topics: Array.isArray(s.topics) ? s.topics.filter((t): t is string => typeof t === "string") : [],
      summary: typeof s.content === "string" ? s.content : null,
      message_count: Number(x.message_count),
    };
    if (options.include_messages) c.messages = messages.get(x.id) ?? [];
    if (options.include_attachments) c.attachments = attachments.get(x.id) ?? [];
    return c;
  });
  const last = rows[rows.length - 1];
  return { data, more, cursor: last ? { created_at: last.cursor_at, id: last.id } : cursor };
}

async function loadContacts(db: Db, workspaceId: string, ids: string[]) {
  const r = await db.execute(sql`select id, name, email from contacts where workspace_id = ${workspaceId} and id in (${inList(ids)})`);
  return new Map(rowsOf<{ id: string; name: string | null; email: string | null }>(r).map((x) => [x.id, { name: x.name, email: x.email }]));
}

/** Tag names by id, with their rank in the database's order of lower(name) (what the export lists them by). */
async function loadTagNames(db: Db, workspaceId: string, ids: string[]) {
  const r = await db.execute(sql`select id, name from tags where workspace_id = ${workspaceId} and id in (${inList(ids)}) order by lower(name), id`);
  return new Map(rowsOf<{ id: string; name: string }>(r).map((x, rank) => [x.id, { name: x.name, rank }]));
}

const inList = (ids: string[]) =>
  sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );

async function loadMessages(db: Db, workspaceId: string, ids: string[]) {
  const r = await db.execute(sql`
    select conversation_id, sender_type, content, created_at from messages
    where workspace_id = ${workspaceId} and conversation_id in (${inList(ids)})
    order by conversation_id, created_at, id`);
  const out = new Map<string, ExportMessage[]>();
  for (const m of rowsOf<{ conversation_id: string; sender_type: string; content: string; created_at: string | Date }>(r)) {
    let list = out.get(m.conversation_id);
    if (!list) {
      list = [];
      out.set(m.conversation_id, list);
    }
    list.push({ sender_type: m.sender_type, content: m.content, created_at: iso(m.created_at) });
  }
  return out;
}

async function loadAttachments(db: Db, workspaceId: string, ids: string[]) {
  const r = await db.execute(sql`
    select id, conversation_id, filename, size, mime_type from files
    where workspace_id = ${workspaceId} and conversation_id in (${inList(ids)}) and deleted_at is null
    order by conversation_id, created_at, id`);
  const out = new Map<string, ExportAttachment[]>();
  for (const f of rowsOf<{ id: string; conversation_id: string; filename: string; size: string | number; mime_type: string }>(r)) {
    let list = out.get(f.conversation_id);
    if (!list) {
      list = [];
      out.set(f.conversation_id, list);
    }
    list.push({ id: f.id, filename: f.filename, size: Number(f.size), mime_type: f.mime_type });
  }
  return out;
}
