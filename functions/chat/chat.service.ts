// The chat area's SQL on the inbox tables: conversations, messages, contacts and sessions the
// chat creates, each write in a transaction with its domain event, plus the LLM usage ledger.
// A few helpers here mirror functions/conversations and functions/contacts on purpose (that
// code was written at the same time): the same counters, event data and JSON shapes.
import { and, asc, desc, eq, getTableColumns, gt, inArray, notInArray, type SQL, sql } from "drizzle-orm";
import { insertConversation } from "../conversations/insert";
import type { PgTable } from "drizzle-orm/pg-core";
import { type Database, type Db, rowsOf } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import type { ChatMessage, LlmUsage } from "../../lib/llm";
import { assistants, contacts, conversations, llmUsage, messages, sessions } from "../../schema";

export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
type Source = ConversationRow["source"];

/** The message JSON of the contract: the one GET /v1/conversations/{id}/messages returns. */
export { messageJson } from "../conversations/messages.service";

export async function findConversation(db: Db, workspaceId: string, id: string): Promise<ConversationRow> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id)))
    .limit(1);
  if (!row) throw notFound("conversation");
  return row;
}

export async function findSession(db: Db, workspaceId: string, id: string): Promise<SessionRow> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.workspaceId, workspaceId), eq(sessions.id, id)))
    .limit(1);
  if (!row) throw notFound("session");
  return row;
}

/** The session's latest chat conversation that is still open, if any. */
export async function openChatOfSession(db: Db, workspaceId: string, sessionId: string): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.workspaceId, workspaceId),
        eq(conversations.sessionId, sessionId),
        eq(conversations.source, "chat"),
        notInArray(conversations.status, ["resolved", "closed"]),
      ),
    )
    .orderBy(desc(conversations.createdAt), desc(conversations.id))
    .limit(1);
  return row;
}

/** First words of a message, for a new conversation's title. */
export function titleFrom(text: string, maxWords = 8): string {
  const ws = text.trim().split(/\s+/).filter(Boolean);
  const t = ws.slice(0, maxWords).join(" ").slice(0, 120);
  return (ws.length > maxWords ? `${t}…` : t) || "New chat";
}

export interface NewConversation {
  title: string;
  source: Source;
  contactId?: string | null;
  sessionId?: string | null;
  assistantId?: string | null;
  metadata?: Record<string, unknown>;
}

export function createConversation(tx: Db, workspaceId: string, input: NewConversation, actor: string): Promise<ConversationRow> {
  return insertConversation(tx, workspaceId, input, actor);
}

export interface NewMessage {
  id?: string;
  senderType: "contact" | "assistant";
  senderId?: string | null;
  content: string;
  status?: "complete" | "incomplete";
  source?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Appends messages to a conversation and moves its counters (message_count, last_message_at,
 * unread_count for contact messages) by relative UPDATEs, with one message.created event each.
 * Call inside a transaction.
 */
export async function appendMessages(tx: Db, conv: Pick<ConversationRow, "id" | "workspaceId">, list: NewMessage[], actor: string): Promise<MessageRow[]> {
  if (!list.length) return [];
  const unread = list.filter((m) => m.senderType === "contact").length;
  // Millisecond timestamps, one apart, so `since` polling (ISO strings) sees each exactly once, in order.
  const base = Date.now();
  const rows = list.map((m, i) => ({
    id: m.id ?? newId("msg"),
    workspaceId: conv.workspaceId,
    conversationId: conv.id,
    senderType: m.senderType,
    senderId: m.senderId ?? null,
    content: m.content,
    status: m.status ?? "complete",
    source: m.source ?? "chat",
    metadata: m.metadata ?? {},
    createdAt: new Date(base + i),
  }));
  const last = rows[rows.length - 1]!.createdAt;
  const c = conversations;
  const moved = await tx
    .update(conversations)
    .set({
      messageCount: sql`${c.messageCount} + ${rows.length}`,
      ...(unread ? { unreadCount: sql`${c.unreadCount} + ${unread}` } : {}),
      lastMessageAt: sql`greatest(${c.lastMessageAt}, ${last.toISOString()}::timestamptz)`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(c.workspaceId, conv.workspaceId), eq(c.id, conv.id)))
    .returning({ id: c.id });
  if (!moved.length) throw notFound("conversation");
  const inserted = await tx.insert(messages).values(rows).returning();
  for (const m of inserted) {
    await recordEvent(tx, conv.workspaceId, "message.created", { type: "message", id: m.id }, actor, { conversation_id: conv.id, sender_type: m.senderType });
  }
  return inserted;
}

// ---- the streaming chat's hot path: the user message stored in ONE statement ----
// Each statement is a round trip (2–3 ms over the Neon WebSocket), and the model is called only
// after the user message is stored, so every round trip here is added to time-to-first-token.
// Data-modifying CTEs make the whole write one atomic statement (no BEGIN/COMMIT): the rows
// and events are the same ones appendMessages and the conversations function write. The CTEs
// live in plpgsql functions (migration 0012), so each connection plans them once, not per call.

/** A table row from `row_to_json(…)`, through the columns' own driver mapping (timestamps → Date). */
function fromJson<T extends PgTable>(table: T, json: unknown): T["$inferSelect"] {
  const raw = (typeof json === "string" ? JSON.parse(json) : json) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, col] of Object.entries(getTableColumns(table))) {
    const v = raw[col.name];
    out[key] = v == null ? null : col.mapFromDriverValue(v);
  }
  return out as T["$inferSelect"];
}

type AssistantRow = typeof assistants.$inferSelect;

/** What the stream needs of the stored message: ids and text (the rows themselves are not read back). */
export interface StoredChatMessage {
  conv: Pick<ConversationRow, "id" | "workspaceId">;
  message: Pick<MessageRow, "id" | "content">;
  /** `assistantId`'s row, else (existing conversation) the conversation's; absent when deleted or none. */
  assistant: AssistantRow | undefined;
  /** Existing conversation: the history the model sees, the new message included. */
  history?: ChatMessage[];
}

interface ChatRow {
  conv_id: string | null;
  message_id: string | null;
  assistant: unknown;
  history?: unknown;
}

const jsonb = (v: Record<string, unknown>) => sql`${JSON.stringify(v)}::jsonb`;

/**
 * A new conversation with its first contact message and both events, in one statement. With
 * `checkAssistant` nothing is stored unless that assistant exists in the workspace (404 assistant).
 */
export async function startChat(
  db: Db,
  workspaceId: string,
  input: NewConversation,
  first: Pick<NewMessage, "senderId" | "content">,
  actor: string,
  checkAssistant?: string,
): Promise<StoredChatMessage> {
  const at = new Date().toISOString();
  const convId = newId("conv");
  const msgId = newId("msg");
  const convEvent = newId("evt");
  const msgEvent = newId("evt");
  const aid = checkAssistant ?? null;
  const convData = { title: input.title, source: input.source, contact_id: input.contactId ?? null, session_id: input.sessionId ?? null, assistant_id: input.assistantId ?? null };
  const r = await db.execute(sql`
    select * from parley_chat_start(${workspaceId}, ${convId}, ${msgId}, ${convEvent}, ${msgEvent}, ${aid}::text,
      ${input.title}, ${input.source}, ${input.contactId ?? null}::text, ${input.sessionId ?? null}::text, ${input.assistantId ?? null}::text,
      ${jsonb(input.metadata ?? {})}, ${at}::timestamptz, ${first.senderId ?? null}::text, ${first.content}, ${actor}, ${jsonb(convData)})`);
  const row = rowsOf<ChatRow>(r)[0];
  if (!row?.conv_id || !row.message_id) throw notFound("assistant");
  return {
    conv: { id: row.conv_id, workspaceId },
    message: { id: row.message_id, content: first.content },
    assistant: row.assistant ? fromJson(assistants, row.assistant) : undefined,
  };
}

/**
 * A contact message appended to an existing conversation in one statement: counters moved,
 * message and message.created event inserted, the assistant (`assistantId`, else the
 * conversation's) and the recent history read. No conversation (or, with `checkAssistant`,
 * no such assistant) → nothing is stored and it is a 404.
 */
export async function appendChatMessage(
  db: Db,
  workspaceId: string,
  conversationId: string,
  content: string,
  actor: string,
  checkAssistant?: string,
): Promise<StoredChatMessage> {
  const at = new Date().toISOString();
  const msgId = newId("msg");
  const msgEvent = newId("evt");
  const aid = checkAssistant ?? null;
  const r = await db.execute(sql`
    select * from parley_chat_append(${workspaceId}, ${conversationId}, ${msgId}, ${msgEvent}, ${aid}::text, ${at}::timestamptz, ${content}, ${actor}, ${HISTORY_MESSAGES}::int)`);
  const row = rowsOf<ChatRow>(r)[0];
  if (!row?.conv_id || !row.message_id) throw notFound(aid && !row?.assistant ? "assistant" : "conversation");
  const message = { id: row.message_id, senderType: "contact" as const, content, createdAt: new Date(at) };
  // The statement's snapshot predates its own insert: the new message joins the history here.
  const hist = rowsOf<HistoryRow>({ rows: typeof row.history === "string" ? JSON.parse(row.history) : row.history }).map((h) => ({
    id: h.id,
    senderType: h.sender_type,
    content: h.content,
    createdAt: new Date(h.created_at),
  }));
  hist.push({ id: message.id, senderType: message.senderType, content: message.content, createdAt: message.createdAt });
  hist.sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  return {
    conv: { id: row.conv_id, workspaceId },
    message: { id: message.id, content },
    assistant: row.assistant ? fromJson(assistants, row.assistant) : undefined,
    history: toChat(hist.slice(0, HISTORY_MESSAGES)),
  };
}

interface HistoryRow {
  id: string;
  sender_type: MessageRow["senderType"];
  content: string;
  created_at: string;
}

export interface FinishedReply {
  id: string;
  senderId: string | null;
  content: string;
  status: "complete" | "incomplete";
  source: string;
  metadata: Record<string, unknown>;
  /** The tokens to add to the workspace's usage ledger, with the model that spent them; none when nothing was spent. */
  usage: { model: string; prompt_tokens: number; completion_tokens: number } | null;
}

/**
 * A reply's end in one statement (migration 0014): the assistant message with its counters,
 * words and message.created event, and its tokens in the usage ledger. The conversation is gone
 * (deleted while the model answered) → only the tokens, spent all the same, are stored, and it is a 404.
 */
export async function finishReply(db: Db, conv: Pick<ConversationRow, "id" | "workspaceId">, m: FinishedReply, actor: string): Promise<Pick<MessageRow, "id" | "content">> {
  const at = new Date();
  const u = m.usage;
  const r = await db.execute(sql`
    select * from parley_chat_finish(${conv.workspaceId}, ${conv.id}, ${m.id}, ${newId("evt")}, ${m.senderId}::text, ${m.content},
      ${m.status}, ${m.source}, ${jsonb(m.metadata)}, ${at.toISOString()}::timestamptz, ${actor},
      ${utcDay(at)}::date, ${u ? u.model.slice(0, 200) : null}::text, ${u?.prompt_tokens ?? 0}::int, ${u?.completion_tokens ?? 0}::int)`);
  const row = rowsOf<{ message_id: string | null }>(r)[0];
  if (!row?.message_id) throw new ApiError("not_found", "The conversation was deleted before the reply was stored.");
  return { id: row.message_id, content: m.content };
}

const HISTORY_MESSAGES = 40;
/** Characters of history sent to the model (~6k tokens), newest kept first. */
const HISTORY_BUDGET = 24_000;

/** The conversation so far as chat messages (notes and system messages left out), within a budget. */
export async function history(db: Db, workspaceId: string, conversationId: string): Promise<ChatMessage[]> {
  const rows = await db
    .select({ senderType: messages.senderType, content: messages.content })
    .from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.conversationId, conversationId), inArray(messages.senderType, ["contact", "assistant", "agent"])))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(HISTORY_MESSAGES);
  return toChat(rows);
}

/** Newest-first rows → chat messages oldest first, newest kept within HISTORY_BUDGET. */
function toChat(rows: Array<Pick<MessageRow, "senderType" | "content">>): ChatMessage[] {
  const out: ChatMessage[] = [];
  let used = 0;
  for (const r of rows) {
    if (!r.content) continue;
    if (used + r.content.length > HISTORY_BUDGET && out.length) break;
    used += r.content.length;
    out.unshift({ role: r.senderType === "contact" ? "user" : "assistant", content: r.content.slice(0, HISTORY_BUDGET) });
  }
  return out;
}

/** Messages of the session's conversations created after `since`, oldest first. */
export async function messagesSince(db: Db, workspaceId: string, sessionId: string, since: Date | undefined, limit = 100) {
  const conds: SQL[] = [eq(messages.workspaceId, workspaceId), eq(conversations.sessionId, sessionId), inArray(messages.senderType, ["contact", "assistant", "agent", "system"])];
  // Compared at millisecond precision: `since` comes from an ISO string of a previous answer.
  if (since) conds.push(gt(sql`date_trunc('milliseconds', ${messages.createdAt})`, since));
  const rows = await db
    .select({ m: messages })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(...conds))
    .orderBy(asc(messages.createdAt), asc(messages.id))
    .limit(limit);
  return rows.map((r) => r.m);
}

// ---- contacts and sessions of the polling chat ----

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[0-9][0-9 ().-]{5,30}$/;

export type Identifier = { kind: "email"; value: string } | { kind: "phone"; value: string } | { kind: "external"; value: string };

/** An email, a phone number or an opaque id (kept in the contact's `attributes.identifier`). */
export function parseIdentifier(raw: string): Identifier {
  const v = raw.trim();
  if (EMAIL_RE.test(v)) return { kind: "email", value: v.toLowerCase() };
  if (PHONE_RE.test(v)) return { kind: "phone", value: v.replace(/[\s().-]/g, "") };
  return { kind: "external", value: v };
}

function identifierCondition(workspaceId: string, id: Identifier): SQL {
  const ws = eq(contacts.workspaceId, workspaceId);
  if (id.kind === "email") return and(ws, sql`lower(${contacts.email}) = ${id.value}`)!;
  if (id.kind === "phone") return and(ws, eq(contacts.phone, id.value))!;
  return and(ws, sql`${contacts.attributes}->>'identifier' = ${id.value}`)!;
}

/** Finds the contact with this identifier or creates it (a concurrent creator wins the unique index; we then read theirs). */
export async function findOrCreateContact(db: Database, workspaceId: string, raw: string, name: string | undefined, actor: string) {
  const id = parseIdentifier(raw);
  const find = async () => (await db.select().from(contacts).where(identifierCondition(workspaceId, id)).orderBy(asc(contacts.createdAt)).limit(1))[0];
  const existing = await find();
  if (existing) return existing;
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(contacts)
        .values({
          id: newId("ct"),
          workspaceId,
          name: name ?? null,
          email: id.kind === "email" ? id.value : null,
          phone: id.kind === "phone" ? id.value : null,
          attributes: id.kind === "external" ? { identifier: id.value } : {},
          lastSeenAt: new Date(),
        })
        .returning();
      await recordEvent(tx, workspaceId, "contact.created", { type: "contact", id: row!.id }, actor, { source: "chat" });
      return row!;
    });
  } catch (err) {
    const again = await find();
    if (again) return again;
    throw err;
  }
}

export async function createSession(tx: Db, workspaceId: string, input: { contactId: string | null; metadata: Record<string, unknown> }, actor: string) {
  const id = newId("ses");
  const now = new Date();
  const [row] = await tx
    .insert(sessions)
    .values({ id, workspaceId, contactId: input.contactId, source: "chat", metadata: input.metadata, lastActivityAt: now })
    .returning();
  await recordEvent(tx, workspaceId, "session.created", { type: "session", id }, actor, { contact_id: input.contactId, source: "chat" });
  return row!;
}

export async function touchSession(db: Db, workspaceId: string, sessionId: string) {
  await db
    .update(sessions)
    .set({ lastActivityAt: new Date() })
    .where(and(eq(sessions.workspaceId, workspaceId), eq(sessions.id, sessionId)));
}

// ---- usage ----

const utcDay = (d = new Date()) => d.toISOString().slice(0, 10);

/** Adds one finished call's tokens to the workspace's row for today and this model. */
export async function recordUsage(db: Db, workspaceId: string, model: string, usage: Pick<LlmUsage, "prompt_tokens" | "completion_tokens">) {
  const u = llmUsage;
  await db
    .insert(llmUsage)
    .values({ workspaceId, day: utcDay(), model: model.slice(0, 200), promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, requests: 1 })
    .onConflictDoUpdate({
      target: [u.workspaceId, u.day, u.model],
      set: {
        promptTokens: sql`${u.promptTokens} + excluded.prompt_tokens`,
        completionTokens: sql`${u.completionTokens} + excluded.completion_tokens`,
        requests: sql`${u.requests} + 1`,
        updatedAt: sql`now()`,
      },
    });
}

