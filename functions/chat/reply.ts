// One assistant reply: runs the model as a stream, hands each delta to the caller, and stores
// the assistant message when the stream ends — `complete`, or `incomplete` with what it got
// so far when the provider fails or the caller aborts — then adds the tokens to the usage ledger.
import { MAX_COMPLETION_TOKENS, modelFor } from "../../lib/ai-limits";
import type { Database } from "../../lib/db";
import { type ChatMessage, type Completion, estimateUsage, type Llm, LlmError, type LlmUsage, systemPrompt } from "../../lib/llm";
import type { AssistantRow } from "./assistants.service";
import { type ConversationRow, finishReply, type MessageRow } from "./chat.service";

/** Used when a chat names no assistant. */
export const DEFAULT_INSTRUCTIONS = "You are a helpful customer-support assistant. Answer briefly and politely. If you do not know, say so and offer to hand over to a person.";

export function promptFor(assistant: AssistantRow | undefined, conversation: ChatMessage[]): ChatMessage[] {
  return [systemPrompt({ instructions: assistant?.instructions ?? DEFAULT_INSTRUCTIONS, knowledge: assistant?.knowledge }), ...conversation];
}

/** Resolves on the next turn of the event loop (setImmediate in Node; Workers may lack it). */
const nextTurn = (resolve: () => void) => void (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0));

export interface ReplyInput {
  db: Database;
  llm: Llm;
  workspaceId: string;
  actor: string;
  conversation: Pick<ConversationRow, "id" | "workspaceId">;
  /** The assistant message's id, announced to the client before the model answers. */
  messageId: string;
  messages: ChatMessage[];
  assistant?: AssistantRow;
  temperature?: number;
  maxTokens?: number;
  user?: string;
  signal?: AbortSignal;
  source?: string;
}

export interface ReplyOutcome {
  status: "complete" | "incomplete";
  text: string;
  model: string;
  usage: LlmUsage | null;
  finishReason: Completion["finishReason"] | null;
  error: LlmError | null;
  message: Pick<MessageRow, "id" | "content">;
}

export async function runReply(input: ReplyInput, onDelta: (text: string) => void): Promise<ReplyOutcome> {
  const { llm } = input;
  const model = modelFor(llm, input.assistant?.model);
  const maxTokens = Math.min(input.maxTokens ?? MAX_COMPLETION_TOKENS, MAX_COMPLETION_TOKENS);
  const temperature = input.temperature ?? input.assistant?.temperature ?? undefined;
  let text = "";
  let done: Completion | undefined;
  let error: LlmError | null = null;
  try {
    for await (const ev of llm.stream({ messages: input.messages, model, temperature, maxTokens, user: input.user, signal: input.signal })) {
      if (ev.type === "delta") {
        text += ev.text;
        onDelta(ev.text);
      } else done = ev.completion;
    }
  } catch (err) {
    error = err instanceof LlmError ? err : new LlmError("unavailable", "The language model failed.", err);
  }
  if (!done && !error) error = new LlmError("aborted", "The request was cancelled.");
  // PGlite (the embedded default) runs statements synchronously on this thread: storing at once
  // would hold back deltas handed over in this same tick (for a short reply, the first one too)
  // by the whole write. Two turns of the event loop: the server writes them to the socket, and a
  // reader in this process (tests, the bench) takes them. Costs nothing measurable on PostgreSQL.
  for (let turn = 0; turn < 2; turn++) await new Promise<void>(nextTurn);
  const status = done ? "complete" : "incomplete";
  // Tokens the provider spent on a cut-short answer are estimated (it reports usage only at the end).
  const usage = done?.usage ?? (text ? estimateUsage(input.messages, text) : null);
  const usedModel = done?.model ?? model;
  // One statement: the message, its counters, words and event, and the tokens (migration 0014).
  const message = await finishReply(
    input.db,
    input.conversation,
    {
      id: input.messageId,
      senderId: input.assistant?.id ?? null,
      content: done?.text ?? text,
      status,
      source: input.source ?? "chat",
      metadata: {
        model: usedModel,
        ...(usage ? { usage } : {}),
        ...(done ? { finish_reason: done.finishReason } : {}),
        ...(error ? { error: error.reason } : {}),
      },
      usage: usage ? { model: usedModel, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens } : null,
    },
    input.actor,
  );
  return { status, text: message.content, model: usedModel, usage, finishReason: done?.finishReason ?? null, error, message };
}

/** The usage object clients see (message_end, OpenAI's usage). */
export const usageJson = (u: LlmUsage | null) =>
  u ? { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens, estimated: u.estimated } : null;
