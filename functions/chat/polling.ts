// The polling chat (Open Chat Studio style) for clients that cannot hold a stream open:
// start a session, post a message (the reply is produced in the background), poll the task or
// the session's new messages.
//
// Background work: the reply runs in `services.waitUntil` (on Workers: ctx.waitUntil, up to
// 30 s after the response; locally the promise simply runs on), with the database held open
// until it is stored. Task state lives in the `chat_tasks` table, so any instance can answer a
// poll. A reply that never finishes (the runtime was killed) stays `processing`; a poll of a
// task older than TASK_STALE_MS reports it as `error`.
import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../../lib/create-app";
import type { Database } from "../../lib/db";
import { describeError, errorResponses, notFound } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { newId } from "../../lib/ids";
import type { Llm } from "../../lib/llm";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { chatTasks, messages } from "../../schema";
import { findAssistant } from "./assistants.service";
import { appendMessages, createConversation, createSession, findOrCreateContact, findSession, history, messageJson, messagesSince, openChatOfSession, titleFrom, touchSession } from "./chat.service";
import { promptFor, runReply } from "./reply";
import { PathId, PollQuery, PollResult, SendBody, StartBody, Started, TaskAccepted, TaskPoll } from "./schemas";
import { assertAiBudget } from "../../lib/ai-limits";

const TAGS = ["Chat"];
const TASK_STALE_MS = 5 * 60_000;
const SessionParam = PathId("session_id", "ses");
const TaskParams = SessionParam.extend(PathId("task_id", "task").shape);

const start = createRoute({
  method: "post",
  path: "/v1/chat/start",
  operationId: "startChat",
  tags: TAGS,
  summary: "Start a polling chat",
  description:
    "Creates a session (source `chat`) and its conversation with the assistant. `contact.identifier` is an email, a phone number or your own id for the visitor: the contact is found by it, or created (an opaque id is kept in the contact's `attributes.identifier`, unique in the workspace: concurrent first chats of one visitor share one contact).",
  request: { body: jsonBody(StartBody) },
  responses: { 201: jsonContent(Started, "The session and its conversation"), ...errorResponses(401, 403, 404) },
});

const send = createRoute({
  method: "post",
  path: "/v1/chat/{session_id}/message",
  operationId: "sendChatMessage",
  tags: TAGS,
  summary: "Send a message (reply in the background)",
  description:
    "Stores the message (sender_type `contact`) in the session's open chat conversation and answers 202 at once; the assistant's reply is produced in the background. Poll `GET /v1/chat/{session_id}/{task_id}/poll`, or the session's messages.",
  request: { params: SessionParam, body: jsonBody(SendBody) },
  responses: { 202: jsonContent(TaskAccepted, "Accepted; the reply is being produced"), ...errorResponses(401, 403, 404) },
});

const pollTask = createRoute({
  method: "get",
  path: "/v1/chat/{session_id}/{task_id}/poll",
  operationId: "pollChatTask",
  tags: TAGS,
  summary: "Poll a reply",
  description: "`processing` until the reply is stored; then `complete` with `message`, or `error` (with `error`, and the partial reply in `message` if any).",
  request: { params: TaskParams },
  responses: { 200: jsonContent(TaskPoll, "The task's state"), ...errorResponses(401, 403, 404) },
});

const pollSession = createRoute({
  method: "get",
  path: "/v1/chat/{session_id}/poll",
  operationId: "pollChatMessages",
  tags: TAGS,
  summary: "Poll a session's new messages",
  description: "Messages of the session's conversations created after `since` (all of them without it), oldest first, at most 100. Pass `next_since` as `since` next time.",
  request: { params: SessionParam, query: PollQuery },
  responses: { 200: jsonContent(PollResult, "New messages"), ...errorResponses(401, 403, 404) },
});

async function produce(db: Database, llm: Llm, ws: string, actor: string, task: { id: string; conversationId: string; assistantId: string | null }) {
  let status: "complete" | "error" = "error";
  let messageId: string | null = null;
  let error: string | null = null;
  try {
    const assistant = task.assistantId ? await findAssistant(db, ws, task.assistantId).catch(() => undefined) : undefined;
    const out = await runReply(
      { db, llm, workspaceId: ws, actor, conversation: { id: task.conversationId, workspaceId: ws }, messageId: newId("msg"), messages: promptFor(assistant, await history(db, ws, task.conversationId)), assistant },
      () => {},
    );
    messageId = out.message.id;
    status = out.status === "complete" ? "complete" : "error";
    error = out.error?.message ?? null;
  } catch (err) {
    error = "Parley could not produce the reply; send the message again.";
    console.error(JSON.stringify({ msg: "chat task failed", task_id: task.id, error: describeError(err) }));
  }
  await db
    .update(chatTasks)
    .set({ status, messageId, error, updatedAt: new Date(), finishedAt: new Date() })
    .where(and(eq(chatTasks.workspaceId, ws), eq(chatTasks.id, task.id)));
}

export const pollingRouter = createRouter()
  .openapi(start, async (c) => {
    const body = c.req.valid("json");
    const p = c.var.principal;
    const actor = actorOf(p);
    const { db } = c.var.services;
    const assistant = await findAssistant(db, p.workspaceId, body.assistant_id);
    const contact = body.contact ? await findOrCreateContact(db, p.workspaceId, body.contact.identifier, body.contact.name, actor) : undefined;
    const out = await db.transaction(async (tx) => {
      const session = await createSession(tx, p.workspaceId, { contactId: contact?.id ?? null, metadata: { assistant_id: assistant.id } }, actor);
      const conv = await createConversation(
        tx,
        p.workspaceId,
        { title: `Chat with ${assistant.name}`.slice(0, 200), source: "chat", contactId: contact?.id ?? null, sessionId: session.id, assistantId: assistant.id },
        actor,
      );
      return { session_id: session.id, conversation_id: conv.id, contact_id: contact?.id ?? null };
    });
    return c.json(out, 201);
  })
  .openapi(send, async (c) => {
    const { session_id } = c.req.valid("param");
    const { message } = c.req.valid("json");
    const p = c.var.principal;
    const actor = actorOf(p);
    const { db, llm } = c.var.services;
    // Nothing is stored when the workspace's AI budget is spent (429).
    const [session] = await Promise.all([findSession(db, p.workspaceId, session_id), assertAiBudget(db, p.workspaceId)]);
    const existing = await openChatOfSession(db, p.workspaceId, session.id);
    const assistantId = existing?.assistantId ?? (typeof session.metadata?.assistant_id === "string" ? session.metadata.assistant_id : null);
    const task = await db.transaction(async (tx) => {
      const conv =
        existing ??
        (await createConversation(tx, p.workspaceId, { title: titleFrom(message), source: "chat", contactId: session.contactId, sessionId: session.id, assistantId }, actor));
      const [m] = await appendMessages(tx, conv, [{ senderType: "contact", senderId: conv.contactId, content: message }], actor);
      const id = newId("task");
      await tx.insert(chatTasks).values({ id, workspaceId: p.workspaceId, sessionId: session.id, conversationId: conv.id, userMessageId: m!.id });
      return { id, conversationId: conv.id, assistantId };
    });
    const run = produce(db, llm, p.workspaceId, actor, task).then(() => touchSession(db, p.workspaceId, session.id));
    c.var.services.holdOpen(run);
    c.var.services.waitUntil(run);
    return c.json({ task_id: task.id, status: "processing" as const }, 202);
  })
  .openapi(pollTask, async (c) => {
    const { session_id, task_id } = c.req.valid("param");
    const ws = c.var.principal.workspaceId;
    const { db } = c.var.services;
    const [task] = await db
      .select()
      .from(chatTasks)
      .where(and(eq(chatTasks.workspaceId, ws), eq(chatTasks.sessionId, session_id), eq(chatTasks.id, task_id)))
      .limit(1);
    if (!task) throw notFound("task");
    const [msg] = task.messageId
      ? await db
          .select()
          .from(messages)
          .where(and(eq(messages.workspaceId, ws), eq(messages.id, task.messageId)))
          .limit(1)
      : [];
    if (task.status === "processing") {
      if (Date.now() - task.createdAt.getTime() > TASK_STALE_MS) {
        return c.json({ task_id: task.id, status: "error" as const, error: { code: "service_unavailable", message: "The reply was never finished; send the message again." } }, 200);
      }
      return c.json({ task_id: task.id, status: "processing" as const }, 200);
    }
    return c.json(
      {
        task_id: task.id,
        status: task.status,
        ...(msg ? { message: messageJson(msg) } : {}),
        ...(task.status === "error" ? { error: { code: "service_unavailable", message: task.error ?? "The reply failed." } } : {}),
      },
      200,
    );
  })
  .openapi(pollSession, async (c) => {
    const { session_id } = c.req.valid("param");
    const { since } = c.req.valid("query");
    const ws = c.var.principal.workspaceId;
    const { db } = c.var.services;
    await findSession(db, ws, session_id);
    const rows = await messagesSince(db, ws, session_id, since ? new Date(since) : undefined);
    const last = rows[rows.length - 1];
    return c.json({ data: rows.map(messageJson), next_since: last ? last.createdAt.toISOString() : null }, 200);
  });
