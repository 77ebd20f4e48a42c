// Conversations: the one place their SQL lives (list with filters, create, get, change,
// delete, status, assignment, tags). Every query names the caller's workspace.
import { and, asc, type Column, count, desc, eq, getTableColumns, type Placeholder, type SQL, sql } from "drizzle-orm";
import { createConversationRow, insertConversation } from "./insert";
import type { Db } from "../../lib/db";
import { ApiError } from "../../lib/errors";
import { recordEvent } from "../../lib/events";
import { iso } from "../../lib/openapi";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { agents, assistants, channels, type CONVERSATION_STATUSES, contacts, conversations, sessions } from "../../schema";
import type { Queue } from "../../lib/queue";
import type { SummaryRow } from "../../schema";
import { stripSentinels } from "./search.service";
import { insertSummaryRequest, publishSummary, type SummaryOptions } from "./summaries.service";
import { hasTagCondition, normalizeTagName, tagsOf } from "../tags/service";

export type ConversationRow = typeof conversations.$inferSelect;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];
export type ConversationSort = "created_at" | "updated_at" | "last_message_at";

export interface ListFilters {
  status?: ConversationStatus;
  source?: ConversationRow["source"];
  channel_id?: string;
  tag?: string;
  assignee_id?: string;
  contact_id?: string;
  assistant_id?: string;
  search?: string;
  processing_status?: NonNullable<ConversationRow["processingStatus"]>;
}

/** Statuses that end a conversation: resolved_at is set on entering them, cleared on leaving. */
const DONE: ReadonlySet<string> = new Set(["resolved", "closed"]);

export function conversationJson(row: Omit<ConversationRow, "content">, tagNames: string[]) {
  return {
    id: row.id,
    title: row.title,
    source: row.source,
    status: row.status,
    processing_status: row.processingStatus,
    contact_id: row.contactId,
    session_id: row.sessionId,
    channel_id: row.channelId,
    assignee_id: row.assigneeId,
    assistant_id: row.assistantId,
    metadata: row.metadata,
    tags: tagNames,
    unread_count: row.unreadCount,
    message_count: row.messageCount,
    last_message_at: iso(row.lastMessageAt),
    first_response_at: iso(row.firstResponseAt),
    resolved_at: iso(row.resolvedAt),
    summary: row.summary ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Escapes LIKE's wildcards so user text matches literally (backslash is the default escape). */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/**
 * The `search` filter, in one place: the value bound for a query, and the condition using it.
 * Full-text, on the same GIN-indexed search_vector as POST /v1/conversations/search (see
 * search.service.ts): the words parsed by websearch_to_tsquery in the workspace's configuration.
 */
export const search = {
  param: (query: string) => stripSentinels(query),
  condition: (param: string | Placeholder): SQL =>
    sql`${conversations}.search_vector @@ websearch_to_tsquery(parley_search_config(${sql.placeholder("ws")}), ${param})`,
};

// The filters that compare a column with the value given.
const EQ_FILTERS = {
  status: conversations.status,
  source: conversations.source,
  channel_id: conversations.channelId,
  assignee_id: conversations.assigneeId,
  contact_id: conversations.contactId,
  assistant_id: conversations.assistantId,
  processing_status: conversations.processingStatus,
} as const;
type FilterName = keyof ListFilters;
const FILTER_NAMES = [...(Object.keys(EQ_FILTERS) as FilterName[]), "tag", "search"] as const;

/** The WHERE of the list, every value a placeholder: the workspace first, then the filters given. */
function listWhere(present: ReadonlySet<FilterName>): SQL {
  const conds: SQL[] = [eq(conversations.workspaceId, sql.placeholder("ws"))];
  for (const [name, col] of Object.entries(EQ_FILTERS) as Array<[FilterName, Column]>) {
    if (present.has(name)) conds.push(eq(col, sql.placeholder(name)));
  }
  if (present.has("tag")) conds.push(hasTagCondition("conversation", conversations.id, sql.placeholder("ws"), sql.placeholder("tag")));
  if (present.has("search")) conds.push(search.condition(sql.placeholder("search")));
  return and(...conds)!;
}

const SORT_COLUMN = {
  created_at: conversations.createdAt,
  updated_at: conversations.updatedAt,
  last_message_at: conversations.lastMessageAt,
} as const;

/** ORDER BY with id as the tie-breaker; conversations without messages sort last both ways. */
export function listOrder(sort: SortSpec<ConversationSort>): SQL[] {
  const col = SORT_COLUMN[sort.field];
  if (sort.direction === "desc") {
    // Spelled out to match conversations_workspace_last_message_idx exactly, so it serves the sort.
    return sort.field === "last_message_at" ? [sql`${col} desc nulls last`, sql`${conversations.id} desc nulls last`] : [desc(col), desc(conversations.id)];
  }
  return [asc(col), asc(conversations.id)];
}

// The list shows no content (it can be 64 KiB a conversation): the page never reads it.
const { content: _content, ...LIST_COLUMNS } = getTableColumns(conversations);

function prepareList(db: Db, present: ReadonlySet<FilterName>, sort: SortSpec<ConversationSort>) {
  const where = listWhere(present);
  return {
    // An empty name: drizzle builds the SQL once, the driver still sends an unnamed statement
    // (nothing is left prepared on a pooled connection).
    page: db
      .select(LIST_COLUMNS)
      .from(conversations)
      .where(where)
      .orderBy(...listOrder(sort))
      .limit(sql.placeholder("limit"))
      .offset(sql.placeholder("offset"))
      .prepare(""),
    total: db.select({ n: count() }).from(conversations).where(where).prepare(""),
  };
}

// Building a query in drizzle costs about a millisecond of CPU; the list's shape (which
// filters, which sort) repeats, so its statements are built once per database handle and shape.
const PREPARED = new WeakMap<object, Map<string, ReturnType<typeof prepareList>>>();

function listStatements(db: Db, f: ListFilters, sort: SortSpec<ConversationSort>) {
  const present = new Set(FILTER_NAMES.filter((k) => f[k] !== undefined));
  const key = `${[...present].join(",")}|${sort.field}|${sort.direction}`;
  let byShape = PREPARED.get(db);
  if (!byShape) {
    byShape = new Map();
    PREPARED.set(db, byShape);
  }
  let stmts = byShape.get(key);
  if (!stmts) {
    stmts = prepareList(db, present, sort);
    byShape.set(key, stmts);
  }
  return stmts;
}

/** One query for the page, one for the total (in parallel), one for the page's tags. */
export async function listConversations(db: Db, workspaceId: string, f: ListFilters, sort: SortSpec<ConversationSort>, page: Page) {
  const stmts = listStatements(db, f, sort);
  const params: Record<string, unknown> = { ...f, ws: workspaceId, limit: page.per_page, offset: offsetOf(page) };
  if (f.tag !== undefined) params.tag = normalizeTagName(f.tag);
  if (f.search !== undefined) params.search = search.param(f.search);
  const [rows, [totalRow]] = await Promise.all([stmts.page.execute(params), stmts.total.execute(params)]);
  const tags = await tagsOf(
    db,
    workspaceId,
    "conversation",
    rows.map((r) => r.id),
  );
  return {
    total: totalRow?.n ?? 0,
    data: rows.map((r) => conversationJson(r, (tags.get(r.id) ?? []).map((t) => t.name))),
  };
}

export async function findConversation(db: Db, workspaceId: string, id: string): Promise<ConversationRow> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id)))
    .limit(1);
  if (!row) throw new ApiError("not_found", "No such conversation.");
  return row;
}

/** 422 naming the field when a referenced id is not a resource of this workspace. */
export function invalidReference(field: string, what: string): ApiError {
  return new ApiError("validation_error", `The ${what} does not exist in your workspace.`, {
    details: { fields: { [field]: [`No such ${what} in your workspace.`] } },
  });
}

export async function contactInWorkspace(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select()
    .from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id)))
    .limit(1);
  return row;
}

async function channelInWorkspace(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ type: channels.type })
    .from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), eq(channels.id, id)))
    .limit(1);
  return row;
}

async function assistantInWorkspace(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ id: assistants.id })
    .from(assistants)
    .where(and(eq(assistants.workspaceId, workspaceId), eq(assistants.id, id)))
    .limit(1);
  return row;
}

export async function sessionInWorkspace(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.workspaceId, workspaceId), eq(sessions.id, id)))
    .limit(1);
  return row;
}

export async function agentInWorkspace(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.workspaceId, workspaceId), eq(agents.id, id)))
    .limit(1);
  return row;
}

export interface CreateInput {
  title: string;
  content?: string;
  source: ConversationRow["source"];
  contact_id?: string;
  channel_id?: string;
  session_id?: string;
  assistant_id?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Marks a conversation as waiting for its AI summary and records the request (a summaries row,
 * processing). Runs in the caller's transaction; publish the job with `publishSummary`
 * (summaries.service.ts) once that transaction has committed.
 */
export async function requestSummary(tx: Db, workspaceId: string, conversationId: string, actor: string, opts: SummaryOptions = {}): Promise<SummaryRow> {
  return insertSummaryRequest(tx, workspaceId, conversationId, opts, actor);
}

/** With content, the summary job is published after the commit (a failed publish marks the summary failed). */
export async function createConversation(db: Db, workspaceId: string, input: CreateInput, actor: string, queue: Queue): Promise<ConversationRow> {
  // Referenced ids must be this workspace's: another workspace's id is as unknown as a made-up one.
  // The lookups run at once (one round trip to the database), then are judged in a fixed order.
  const [channel, assistant, contact, session] = await Promise.all([
    input.channel_id ? channelInWorkspace(db, workspaceId, input.channel_id) : undefined,
    input.assistant_id ? assistantInWorkspace(db, workspaceId, input.assistant_id) : undefined,
    input.contact_id ? contactInWorkspace(db, workspaceId, input.contact_id) : undefined,
    input.session_id ? sessionInWorkspace(db, workspaceId, input.session_id) : undefined,
  ]);
  let contactId = input.contact_id ?? null;
  if (input.channel_id) {
    if (!channel) throw invalidReference("channel_id", "channel");
    // A conversation on a channel has the channel's type as its source.
    if (channel.type !== input.source) {
      throw new ApiError("validation_error", `A conversation on this channel has source \`${channel.type}\`.`, {
        details: { fields: { source: [`Must be "${channel.type}", the type of channel_id.`] } },
      });
    }
  }
  if (input.assistant_id && !assistant) throw invalidReference("assistant_id", "assistant");
  if (input.contact_id && !contact) throw invalidReference("contact_id", "contact");
  if (input.session_id) {
    if (!session) throw invalidReference("session_id", "session");
    // A session already linked to a contact lends it the contact when none was given.
    contactId ??= session.contactId;
  }
  const row = { title: input.title, content: input.content, source: input.source, contactId, sessionId: input.session_id, channelId: input.channel_id, assistantId: input.assistant_id, metadata: input.metadata };
  // Without content nothing is read in between: one batch (one fetch over HTTP, no WebSocket).
  if (!input.content) return createConversationRow(db, workspaceId, row, actor, { has_content: false });
  let requested: SummaryRow | undefined;
  const created = await db.transaction(async (tx) => {
    const row = await insertConversation(
      tx,
      workspaceId,
      {
        title: input.title,
        content: input.content,
        source: input.source,
        contactId,
        sessionId: input.session_id,
        channelId: input.channel_id,
        assistantId: input.assistant_id,
        metadata: input.metadata,
      },
      actor,
      { has_content: Boolean(input.content) },
    );
    const id = row.id;
    if (input.content) {
      requested = await requestSummary(tx, workspaceId, id, actor);
      return { ...row, processingStatus: "processing" as const };
    }
    return row;
  });
  if (requested && !(await publishSummary(db, queue, requested)).ok) return { ...created, processingStatus: "failed" };
  return created;
}

/** Agents reading a conversation mark it read; API keys (server polling) do not. */
export async function markRead(db: Db, workspaceId: string, id: string): Promise<void> {
  await db
    .update(conversations)
    .set({ unreadCount: 0 })
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id), sql`${conversations.unreadCount} <> 0`));
}

export async function conversationTags(db: Db, workspaceId: string, id: string) {
  return (await tagsOf(db, workspaceId, "conversation", [id])).get(id) ?? [];
}

/** The SET fragment of a status change: resolved_at follows the status. */
function statusSet(to: ConversationStatus) {
  return {
    status: to,
    resolvedAt: DONE.has(to) ? sql`coalesce(${conversations.resolvedAt}, now())` : null,
  };
}

export interface UpdateInput {
  title?: string;
  status?: ConversationStatus;
  assignee_id?: string | null;
  metadata?: Record<string, unknown>;
}

/**
 * Applies a PATCH in one transaction. Metadata merges key by key in SQL (a null removes the
 * key), so concurrent patches of different keys do not overwrite each other.
 */
export async function updateConversation(db: Db, workspaceId: string, id: string, input: UpdateInput, actor: string): Promise<ConversationRow> {
  if (input.assignee_id && !(await agentInWorkspace(db, workspaceId, input.assignee_id))) throw invalidReference("assignee_id", "agent");
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id)))
      .for("update")
      .limit(1);
    if (!before) throw new ApiError("not_found", "No such conversation.");

    const set: Record<string, unknown> = { updatedAt: sql`now()` };
    const changed: string[] = [];
    if (input.title !== undefined && input.title !== before.title) {
      set.title = input.title;
      changed.push("title");
    }
    const statusChanged = input.status !== undefined && input.status !== before.status;
    if (statusChanged) Object.assign(set, statusSet(input.status!));
    const assigneeChanged = input.assignee_id !== undefined && input.assignee_id !== before.assigneeId;
    if (assigneeChanged) set.assigneeId = input.assignee_id;
    if (input.metadata && Object.keys(input.metadata).length) {
      const puts = Object.fromEntries(Object.entries(input.metadata).filter(([, v]) => v !== null));
      const drops = Object.keys(input.metadata).filter((k) => input.metadata![k] === null);
      const merged = sql`(${conversations.metadata} || ${JSON.stringify(puts)}::jsonb)`;
      set.metadata = drops.length ? sql`${merged} ${sql.join(drops.map((k) => sql`- ${k}::text`), sql` `)}` : merged;
      changed.push("metadata");
    }
    if (!changed.length && !statusChanged && !assigneeChanged) return before;

    const [after] = await tx.update(conversations).set(set).where(eq(conversations.id, id)).returning();
    if (changed.length) await recordEvent(tx, workspaceId, "conversation.updated", { type: "conversation", id }, actor, { changed });
    if (statusChanged) {
      await recordEvent(tx, workspaceId, "conversation.status_changed", { type: "conversation", id }, actor, { from: before.status, to: input.status });
    }
    if (assigneeChanged) {
      await recordEvent(tx, workspaceId, "conversation.assigned", { type: "conversation", id }, actor, { from: before.assigneeId, to: input.assignee_id });
    }
    return after!;
  });
}

export async function deleteConversation(db: Db, workspaceId: string, id: string, actor: string): Promise<void> {
  await db.transaction(async (tx) => {
    const removed = await tx
      .delete(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id)))
      .returning({ id: conversations.id });
    if (!removed.length) throw new ApiError("not_found", "No such conversation.");
    await recordEvent(tx, workspaceId, "conversation.deleted", { type: "conversation", id }, actor);
  });
}
