// POST /v1/openai/{assistant_id}/chat/completions: OpenAI's Chat Completions API in front of an
// assistant, so `new OpenAI({ baseURL: "<host>/v1/openai/<assistant_id>", apiKey: "pk_…" })`
// works unchanged, streaming included. Each call is kept as a conversation (source `api`).
// Errors keep the contract's shape and add OpenAI's `type` and `param` (see `openaiErrors`).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { assertAiBudget, MAX_COMPLETION_TOKENS } from "../../lib/ai-limits";
import { createRouter, handleError } from "../../lib/create-app";
import type { AppEnv } from "../../lib/env";
import { ApiError, describeError, errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { newId, randomToken } from "../../lib/ids";
import { type ChatMessage, LlmError } from "../../lib/llm";
import { jsonBody } from "../../lib/openapi";
import { findAssistant } from "./assistants.service";
import { appendMessages, createConversation, findOrCreateContact, type NewMessage, titleFrom } from "./chat.service";
import { promptFor, runReply } from "./reply";
import { MAX_MESSAGE, PathId } from "./schemas";
import { SSE_HEADERS } from "./sse";

export const OPENAI_PREFIX = "/v1/openai/";

const TextPart = z.object({ type: z.string().max(50), text: z.string().max(MAX_MESSAGE).optional() }).passthrough();
const Message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool"]),
    content: z.union([z.string().max(MAX_MESSAGE), z.array(TextPart).max(100), z.null()]).optional(),
    name: z.string().max(200).optional(),
  })
  .passthrough();

const tokens = z
  .number()
  .int()
  .min(1)
  .max(MAX_COMPLETION_TOKENS)
  .nullable()
  .optional()
  .openapi({ description: `At most ${MAX_COMPLETION_TOKENS}; replies are capped at that when none is given.` });

export const CompletionBody = z
  .object({
    messages: z.array(Message).min(1).max(500),
    model: z.string().max(200).optional().openapi({ description: "Ignored: the assistant's model (or the server's default) answers. Echoed back in `model` is the model used." }),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional().openapi({ description: "Overrides the assistant's temperature." }),
    max_tokens: tokens,
    max_completion_tokens: tokens,
    n: z.literal(1).nullable().optional().openapi({ description: "Only one choice is produced." }),
    user: z.string().trim().min(1).max(254).optional().openapi({ description: "Identifies the contact: an email, a phone number or your own id (found or created)." }),
  })
  .passthrough()
  .openapi("ChatCompletionRequest", {
    example: { model: "parley", messages: [{ role: "user", content: "How long do refunds take?" }], stream: false, user: "ada@example.com" },
  });

const Usage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

export const ChatCompletion = z
  .object({
    id: z.string().openapi({ example: "chatcmpl-6f1c2a9b8e7d4c3b2a1f0e9d" }),
    object: z.literal("chat.completion"),
    created: z.number().int().openapi({ example: 1795522203 }),
    model: z.string().openapi({ example: "gpt-4o-mini" }),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal("assistant"), content: z.string(), refusal: z.null() }),
        logprobs: z.null(),
        finish_reason: z.enum(["stop", "length", "content_filter"]),
      }),
    ),
    usage: Usage,
    system_fingerprint: z.null(),
  })
  .openapi("ChatCompletion");

const completions = createRoute({
  method: "post",
  path: "/v1/openai/{assistant_id}/chat/completions",
  operationId: "createChatCompletion",
  tags: ["OpenAI-compatible"],
  summary: "Chat completion (OpenAI-compatible)",
  description: `OpenAI's Chat Completions request and response shapes, answered by the assistant: its instructions (and knowledge) are prepended as a system message. With \`stream: true\` the answer is \`chat.completion.chunk\` events (\`delta.role\` first, then \`delta.content\`, a final chunk with \`finish_reason\`, a usage chunk when \`stream_options.include_usage\`), ending \`data: [DONE]\`.

Use an API key: \`new OpenAI({ baseURL: "<host>/v1/openai/<assistant_id>", apiKey: "pk_…" })\`. \`model\` is ignored (the assistant's model answers). \`user\` identifies the contact. Each call is stored as a conversation (source \`api\`, \`assistant_id\` set) with the request's user and assistant turns and the reply.

Errors have the contract's shape plus OpenAI's \`type\` and \`param\` inside \`error\`, so OpenAI SDKs raise the matching exception (404 → NotFoundError, 401 → AuthenticationError, 503 → InternalServerError).`,
  request: { params: PathId("assistant_id", "ast"), body: jsonBody(CompletionBody) },
  responses: {
    200: {
      description: "A `chat.completion`, or with `stream: true` a `text/event-stream` of `chat.completion.chunk`",
      content: {
        "application/json": { schema: ChatCompletion },
        "text/event-stream": {
          schema: z.string().openapi({ example: 'data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":1795522203,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: [DONE]\n\n' }),
        },
      },
    },
    ...errorResponses(401, 403, 404),
  },
});

type InMessage = z.infer<typeof Message>;

const textOf = (m: InMessage): string =>
  typeof m.content === "string" ? m.content : Array.isArray(m.content) ? m.content.map((p) => (p.type === "text" && typeof p.text === "string" ? p.text : "")).join("") : "";

function toChat(list: InMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of list) {
    const content = textOf(m);
    if (m.role === "tool") continue; // tools are not supported: their results carry no turn of their own here
    out.push({ role: m.role === "developer" ? "system" : m.role, content });
  }
  return out;
}

const completionId = () => `chatcmpl-${randomToken(18).replace(/[-_]/g, "x")}`;

export const openaiRouter = createRouter().openapi(completions, async (c) => {
  const { assistant_id } = c.req.valid("param");
  const body = c.req.valid("json");
  const p = c.var.principal;
  const ws = p.workspaceId;
  const actor = actorOf(p);
  const { db, llm } = c.var.services;

  const assistant = await findAssistant(db, ws, assistant_id);
  await assertAiBudget(db, ws);
  const chat = toChat(body.messages);
  const turns = chat.filter((m) => m.role !== "system" && m.content.trim());
  const lastUser = [...turns].reverse().find((m) => m.role === "user");
  if (!lastUser) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: { messages: ["Must include a user message with text."] } } });
  const contact = body.user ? await findOrCreateContact(db, ws, body.user, undefined, actor) : undefined;

  const conv = await db.transaction(async (tx) => {
    const row = await createConversation(
      tx,
      ws,
      { title: titleFrom(lastUser.content), source: "api", contactId: contact?.id ?? null, assistantId: assistant.id, metadata: { openai_compatible: true, ...(body.model ? { requested_model: body.model.slice(0, 200) } : {}) } },
      actor,
    );
    const stored: NewMessage[] = turns.map((m) => ({ senderType: m.role === "user" ? "contact" : "assistant", senderId: m.role === "user" ? (contact?.id ?? null) : null, content: m.content, source: "api" }));
    await appendMessages(tx, row, stored, actor);
    return row;
  });

  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const replyInput = {
    db,
    llm,
    workspaceId: ws,
    actor,
    conversation: conv,
    messageId: newId("msg"),
    messages: promptFor(assistant, chat),
    assistant,
    temperature: body.temperature ?? undefined,
    maxTokens,
    user: body.user,
    source: "api",
  };

  if (!body.stream) {
    const out = await runReply({ ...replyInput, signal: c.req.raw.signal }, () => {});
    if (out.status !== "complete") throw out.error ?? new LlmError("unavailable", "The language model failed.");
    const u = out.usage!;
    return c.json(
      {
        id,
        object: "chat.completion" as const,
        created,
        model: out.model,
        choices: [{ index: 0, message: { role: "assistant" as const, content: out.text, refusal: null }, logprobs: null, finish_reason: out.finishReason ?? "stop" }],
        usage: { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens },
        system_fingerprint: null,
      },
      200,
    );
  }

  // Streaming: OpenAI's `data:` lines only (no event names, no ids), ending `data: [DONE]`.
  const encoder = new TextEncoder();
  const abort = new AbortController();
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const readable = new ReadableStream<Uint8Array>({
    start: (x) => {
      ctl = x;
    },
    cancel: () => abort.abort(),
  });
  // Removed when the stream ends: a listener left on the request's signal keeps the whole request alive (see SseChannel).
  const onRequestAbort = () => abort.abort();
  c.req.raw.signal.addEventListener("abort", onRequestAbort, { once: true });
  const write = (data: unknown) => {
    if (!open || abort.signal.aborted) return;
    try {
      ctl.enqueue(encoder.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`));
    } catch {
      abort.abort();
    }
  };
  let model = assistant.model && llm.provider !== "offline" ? assistant.model : llm.defaultModel;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  write(chunk({ role: "assistant", content: "", refusal: null }));

  const run = (async () => {
    try {
      const out = await runReply({ ...replyInput, signal: abort.signal }, (text) => write(chunk({ content: text })));
      model = out.model;
      if (out.status === "complete") {
        write(chunk({}, out.finishReason ?? "stop"));
        if (body.stream_options?.include_usage && out.usage) {
          const u = out.usage;
          write({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens } });
        }
        write("[DONE]");
      } else {
        // OpenAI's in-stream error: the SDK raises it as an APIError.
        write({ error: { code: "service_unavailable", message: out.error?.message ?? "The reply was cut short.", type: "server_error", param: null, request_id: c.var.requestId } });
      }
    } catch (err) {
      console.error(JSON.stringify({ msg: "openai-compatible stream failed", request_id: c.var.requestId, error: describeError(err) }));
      write({ error: { code: "service_unavailable", message: "Parley could not store the reply; try again.", type: "server_error", param: null, request_id: c.var.requestId } });
    } finally {
      open = false;
      c.req.raw.signal.removeEventListener("abort", onRequestAbort);
      try {
        ctl.close();
      } catch {
        // cancelled by the client
      }
    }
  })();
  c.var.services.holdOpen(run);
  c.var.services.waitUntil(run);
  return new Response(readable, { status: 200, headers: SSE_HEADERS });
});

// ---- errors in OpenAI's shape ----

const OPENAI_TYPE: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  409: "invalid_request_error",
  413: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_error",
};

/** The contract's error body plus OpenAI's `type` and `param`, for paths under /v1/openai/. */
export async function openaiErrors(res: Response, c: Context<AppEnv>): Promise<Response> {
  if (!c.req.path.startsWith(OPENAI_PREFIX)) return res;
  let body: { error?: Record<string, unknown> };
  try {
    body = await res.clone().json();
  } catch {
    return res;
  }
  if (!body?.error) return res;
  const fields = (body.error.details as { fields?: Record<string, unknown> } | undefined)?.fields;
  body.error.type = OPENAI_TYPE[res.status] ?? (res.status >= 500 ? "server_error" : "invalid_request_error");
  body.error.param = fields ? (Object.keys(fields)[0] ?? null) : null;
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(body), { status: res.status, headers });
}

/** onError for the chat app: the shared handler, reshaped for the OpenAI-compatible paths. */
export const chatErrorHandler = (err: Error, c: Context<AppEnv>) => openaiErrors(handleError(err, c), c);
