// POST /v1/chat/stream: a chat reply as server-sent events, resumable with Last-Event-ID.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import type { AppContext, Env } from "../../lib/env";
import { ApiError, describeError, errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { newId } from "../../lib/ids";
import { LlmError } from "../../lib/llm";
import { jsonBody } from "../../lib/openapi";
import { appendChatMessage, findSession, openChatOfSession, startChat, titleFrom, touchSession } from "./chat.service";
import { promptFor, runReply, usageJson } from "./reply";
import { StreamBody } from "./schemas";
import { DEFAULT_HEARTBEAT_MS, follow, parseLastEventId, recorded, SseChannel } from "./sse";
import { assertAiBudget } from "../../lib/ai-limits";

const DESCRIPTION = `Sends \`message\` and streams the assistant's reply as \`text/event-stream\`:

- \`event: message_start\` \`{conversation_id, message_id, user_message_id}\`
- \`event: delta\` \`{text}\` (many)
- \`event: message_end\` \`{message_id, status, model, usage: {prompt_tokens, completion_tokens, total_tokens, estimated}}\` (\`status\` is \`complete\`; a resumed stream whose client had gone away ends with \`incomplete\`)
- \`event: error\` \`{code, message}\` (the provider failed or timed out, or the reply could not be stored: \`service_unavailable\`; the conversation was deleted while the model answered: \`not_found\`)

A \`: heartbeat\` comment comes every 15 s. Every event has \`id: <message_id>:<seq>\`. The response's \`Server-Timing\` header says how long
the request took before the model was called: \`pipeline\` (authentication, rate limit, validation) and \`store\` (storing the user message).

The user message is stored (sender_type \`contact\`) before the model is called; the assistant message when the stream ends,
or, if the client disconnects or the provider fails, as far as it got with \`status: "incomplete"\`.
Without \`conversation_id\` a conversation (source \`chat\`) is created, titled with the message's first words; with \`session_id\`
the session's open chat conversation is continued (or one is created) and linked to the session and its contact.
The assistant is \`assistant_id\`, else the conversation's, else a default one.

**Resuming**: send the same request again with \`Last-Event-ID: <message_id>:<seq>\` (the last \`id:\` you received) within
one hour: the events after it are replayed, then the stream is followed live until it ends; nothing new is stored.
An unknown or expired id is 404. A disconnect that Parley notices ends the generation (the reply is kept \`incomplete\`, as
the contract asks), so a resume then replays what was produced up to that point and ends with \`message_end\` \`status: "incomplete"\`;
a stream still running (the drop was not noticed yet, or another tab follows it) is followed live to its end.`;

const stream = createRoute({
  method: "post",
  path: "/v1/chat/stream",
  operationId: "streamChat",
  tags: ["Chat"],
  summary: "Stream a chat reply (SSE)",
  description: DESCRIPTION,
  request: {
    body: jsonBody(StreamBody),
    headers: z.object({
      "last-event-id": z.string().max(200).optional().openapi({ description: "Resume a stream: the last event id received.", example: "msg_01jd3k9v6q8f2m4x7c5b0n1p2r:7" }),
    }),
  },
  responses: {
    200: {
      description: "The event stream",
      headers: z.object({
        "Server-Timing": z.string().openapi({
          description: "Milliseconds before the model was called: `pipeline` (authentication, rate limit, validation) and `store` (the user message).",
          example: 'pipeline;dur=0.41;desc="auth, rate limit, validation", store;dur=2.10;desc="user message stored"',
        }),
      }),
      content: {
        "text/event-stream": {
          schema: z.string().openapi({
            example:
              'id: msg_01jd…:1\nevent: message_start\ndata: {"conversation_id":"conv_01jd…","message_id":"msg_01jd…"}\n\nid: msg_01jd…:2\nevent: delta\ndata: {"text":"Refunds "}\n\nid: msg_01jd…:3\nevent: message_end\ndata: {"message_id":"msg_01jd…","usage":{"prompt_tokens":52,"completion_tokens":9,"total_tokens":61}}\n\n',
          }),
        },
      },
    },
    ...errorResponses(401, 403, 404),
  },
});

/** Heartbeat interval: 15 s, or CHAT_HEARTBEAT_MS (tests shorten it). */
export function heartbeatMs(env: Env | undefined): number {
  const v = Number((env as Record<string, unknown> | undefined)?.CHAT_HEARTBEAT_MS);
  return Number.isFinite(v) && v >= 10 ? v : DEFAULT_HEARTBEAT_MS;
}

async function resume(c: AppContext, lastEventId: string): Promise<Response> {
  const at = parseLastEventId(lastEventId);
  if (!at) throw new ApiError("bad_request", "Last-Event-ID must be `<message_id>:<seq>`, as sent in the stream's `id:` lines.");
  const { kv } = c.var.services;
  const ws = c.var.principal.workspaceId;
  const events = await recorded(kv, ws, at.messageId);
  if (!events) throw new ApiError("not_found", "No stream to resume for this Last-Event-ID (streams are kept one hour).");
  const channel = new SseChannel({ kv, workspaceId: ws, messageId: at.messageId, heartbeatMs: heartbeatMs(c.env), requestSignal: c.req.raw.signal, record: false });
  const run = follow(channel, kv, ws, at.messageId, at.seq, events).catch(() => channel.close());
  c.var.services.waitUntil(run);
  return channel.response();
}

export const streamRouter = createRouter().openapi(stream, async (c) => {
  const lastEventId = c.req.header("last-event-id");
  if (lastEventId) return resume(c, lastEventId);
  const handlerAt = performance.now();

  const body = c.req.valid("json");
  const p = c.var.principal;
  const ws = p.workspaceId;
  const actor = actorOf(p);
  const { db, llm, kv } = c.var.services;

  // Two round trips at most before the model is called (three with a session): the session, and
  // ONE statement that checks the assistant, stores the user message with its events and, for
  // an existing conversation, reads the assistant and history. The user's message is kept
  // before the model is called: a failure later never loses it. The workspace's AI budget is
  // read alongside the first: when it is spent (429) nothing is stored.
  const [session] = await Promise.all([body.session_id ? findSession(db, ws, body.session_id) : undefined, assertAiBudget(db, ws)]);
  const conversationId = body.conversation_id ?? (session ? (await openChatOfSession(db, ws, session.id))?.id : undefined);
  const stored = conversationId
    ? await appendChatMessage(db, ws, conversationId, body.message, actor, body.assistant_id)
    : await startChat(
        db,
        ws,
        {
          title: titleFrom(body.message),
          source: "chat",
          contactId: session?.contactId,
          sessionId: session?.id,
          assistantId: body.assistant_id ?? (typeof session?.metadata?.assistant_id === "string" ? session.metadata.assistant_id : null),
        },
        { senderId: session?.contactId, content: body.message },
        actor,
        body.assistant_id,
      );
  const { conv, assistant } = stored;
  const storedAt = performance.now();
  if (session) c.var.services.waitUntil(touchSession(db, ws, session.id));
  // A new conversation's history is the message just stored: no need to read it back.
  const messages = promptFor(assistant, stored.history ?? [{ role: "user", content: stored.message.content }]);

  const messageId = newId("msg");
  const channel = new SseChannel({
    kv,
    workspaceId: ws,
    messageId,
    heartbeatMs: heartbeatMs(c.env),
    requestSignal: c.req.raw.signal,
    onError: (err) => console.error(JSON.stringify({ msg: "stream not recorded for replay", request_id: c.var.requestId, error: describeError(err) })),
  });
  channel.send("message_start", { conversation_id: conv.id, message_id: messageId, user_message_id: stored.message.id });

  const target = conv;
  const run = (async () => {
    try {
      const out = await runReply({ db, llm, workspaceId: ws, actor, conversation: target, messageId, messages, assistant, signal: channel.signal }, (text) =>
        channel.send("delta", { text }),
      );
      if (out.status === "complete" || channel.clientGone) {
        // After a disconnect this reaches only Redis: a resuming client learns the reply ended there.
        channel.send("message_end", { message_id: messageId, status: out.status, model: out.model, usage: usageJson(out.usage) });
      } else channel.send("error", { code: "service_unavailable", message: out.error?.message ?? "The reply was cut short." });
    } catch (err) {
      // Deleted while the model answered: nothing to store the reply in (the tokens are counted).
      if (err instanceof ApiError && err.code === "not_found") return channel.send("error", { code: "not_found", message: err.message });
      // The final write failed (database down): say so on the stream rather than ending silently.
      console.error(JSON.stringify({ msg: "chat stream failed", request_id: c.var.requestId, error: describeError(err) }));
      channel.send("error", { code: "service_unavailable", message: err instanceof LlmError ? err.message : "Parley could not store the reply; send the message again." });
    } finally {
      await channel.close();
    }
  })();
  // The database stays open, and the Worker alive, until the reply is stored, even after a disconnect.
  c.var.services.holdOpen(run);
  c.var.services.waitUntil(run);
  const res = channel.response();
  // What came before the model call, for clients and the benchmark (the model is called right after).
  const ms = (n: number) => n.toFixed(2);
  res.headers.set("Server-Timing", `pipeline;dur=${ms(handlerAt - c.var.startedAt)};desc="auth, rate limit, validation", store;dur=${ms(storedAt - handlerAt)};desc="user message stored"`);
  return res;
});
