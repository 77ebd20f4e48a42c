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
  contact_name: string | null;
  contact_email: string | null;
  assignee_id: string | null;
  summary: { sentiment?: unknown; topics?: unknown; content?: unknown } | null;
  message_count: number;
  tags: string[] | null;
}

const iso = (v: string | Date) => (v instanceof Date ? v : new Date(v)).toISOString();

/** How many conversations the export will hold (counted when it is requested). */
export async function countMatching(db: Db, workspaceId: string, filters: ExportFilters): Promise<number> {
  const r = await db.execute(sql`select count(*)::int as n from conversations c where ${searchWhere(workspaceId, null, filters)}`);
  return Number(rowsOf<{ n: number }>(r)[0]?.n ?? 0);
}

export async function loadChunk(db: Db, workspaceId: string, filters: ExportFilters, options: ExportOptions, cursor: Cursor | null, limit: number) {
  const after: SQL = cursor ? sql` and (c.created_at, c.id) > (${cursor.created_at}::timestamptz, ${cursor.id})` : sql``;
  const r = await db.execute(sql`
    select c.id, c.title, c.status, c.source, c.created_at, c.created_at::text as cursor_at, c.updated_at,
      c.contact_id, ct.name as contact_name, ct.email as contact_email, c.assignee_id, c.summary, c.message_count,
      (select array_agg(t.name order by lower(t.name)) from conversation_tags x join tags t on t.id = x.tag_id
        where x.conversation_id = c.id) as tags
    from conversations c left join contacts ct on ct.id = c.contact_id and ct.workspace_id = c.workspace_id
    where ${searchWhere(workspaceId, null, filters)}${after}
    order by c.created_at, c.id
    limit ${limit}`);
  const rows = rowsOf<Row>(r);
  const ids = rows.map((x) => x.id);
  const [messages, attachments] = await Promise.all([
    options.include_messages && ids.length ? loadMessages(db, workspaceId, ids) : new Map<string, ExportMessage[]>(),
    options.include_attachments && ids.length ? loadAttachments(db, workspaceId, ids) : new Map<string, ExportAttachment[]>(),
  ]);
  const data: ExportConversation[] = rows.map((x) => {
    const s = x.summary ?? {};
    const c: ExportConversation = {
      id: x.id,
      title: x.title,
      status: x.status,
      source: x.source,
      created_at: iso(x.created_at),
      updated_at: iso(x.updated_at),
      contact: x.contact_id ? { id: x.contact_id, name: x.contact_name, email: x.contact_email } : null,
      assignee_id: x.assignee_id,
      tags: x.tags ?? [],
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
  return { data, cursor: last ? { created_at: last.cursor_at, id: last.id } : cursor };
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
