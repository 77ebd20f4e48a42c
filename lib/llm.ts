// The language model behind Parley's AI features: one interface (complete, stream, structured
// output) and its OpenAI provider over the Chat Completions API, the one every
// OpenAI-compatible server speaks (OpenAI, Workers AI's compatible endpoint, Ollama, vLLM).
// Without OPENAI_API_KEY the offline provider (lib/llm-offline.ts) answers instead.
// Provider failures and timeouts become `LlmError` (503 service_unavailable), never a 500.
import OpenAI from "openai";
import { VERSION as OPENAI_SDK_VERSION } from "openai/version";
import { z } from "zod";
import { ApiError } from "./errors";
import { estimateTokens, OFFLINE_MODEL, offlineLlm } from "./llm-offline";
import { allowedModelsFromEnv } from "./ai-limits";

export type ChatRole = "system" | "user" | "assistant";
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface LlmUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** True when counted by Parley (~4 characters a token), not reported by the provider. */
  estimated: boolean;
}

export type FinishReason = "stop" | "length" | "content_filter";

export interface ChatRequest {
  messages: ChatMessage[];
  /** The provider's default model when absent. */
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** Aborts the call (the client went away); the call then fails with reason `aborted`. */
  signal?: AbortSignal;
  /** An end-user id passed on to the provider (abuse monitoring). */
  user?: string;
}

export interface Completion {
  text: string;
  model: string;
  usage: LlmUsage;
  finishReason: FinishReason;
}

export type StreamEvent = { type: "delta"; text: string } | { type: "done"; completion: Completion };

export interface StructuredRequest<T> extends ChatRequest {
  schema: z.ZodType<T>;
  /** Name of the schema as the model sees it (letters, digits, _ and -). */
  name: string;
}

export interface Structured<T> {
  data: T;
  model: string;
  usage: LlmUsage;
}

export interface Llm {
  readonly provider: "openai" | "offline";
  readonly defaultModel: string;
  /** Models an assistant may name (OPENAI_ALLOWED_MODELS; lib/ai-limits.ts has the default list). */
  readonly allowedModels?: readonly string[];
  complete(req: ChatRequest): Promise<Completion>;
  /** Deltas as they come, then exactly one `done` (or a thrown LlmError). */
  stream(req: ChatRequest): AsyncIterable<StreamEvent>;
  structured<T>(req: StructuredRequest<T>): Promise<Structured<T>>;
}

export type LlmFailure = "timeout" | "unavailable" | "rate_limited" | "bad_response" | "aborted";

/** A provider failure: answered as 503 service_unavailable, or a stream's error event. */
export class LlmError extends ApiError {
  readonly reason: LlmFailure;
  constructor(reason: LlmFailure, message: string, cause?: unknown) {
    super("service_unavailable", message, { cause });
    this.reason = reason;
  }
}

// ---- prompts shared by every provider ----

/** Marks where an assistant's knowledge starts in its system prompt (the offline provider quotes it). */
export const KNOWLEDGE_MARKER = "\n\n## Knowledge you may quote\n";

export function systemPrompt(a: { instructions: string; knowledge?: string | null }): ChatMessage {
  const knowledge = a.knowledge?.trim();
  return { role: "system", content: knowledge ? `${a.instructions}${KNOWLEDGE_MARKER}${knowledge}` : a.instructions };
}

export function estimateUsage(messages: ChatMessage[], completion: string): LlmUsage {
  // ~4 tokens of framing per message, as chat formats add.
  const prompt = messages.reduce((n, m) => n + estimateTokens(m.content) + 4, 0);
  const done = estimateTokens(completion);
  return { prompt_tokens: prompt, completion_tokens: done, total_tokens: prompt + done, estimated: true };
}

// ---- structured output: a strict JSON Schema from a zod schema ----

type JsonSchema = Record<string, unknown>;

/** OpenAI's strict mode wants every property required and no extra properties, at every level. */
export function strictJsonSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: "draft-7", unrepresentable: "any" }) as JsonSchema;
  delete json.$schema;
  const visit = (node: unknown): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const v of node) visit(v);
      return;
    }
    const n = node as JsonSchema;
    if (n.type === "object" && n.properties && typeof n.properties === "object") {
      n.required = Object.keys(n.properties);
      n.additionalProperties = false;
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(json);
  return json;
}

// ---- the OpenAI provider ----

export interface OpenAiOptions {
  apiKey: string;
  baseURL?: string;
  model?: string;
  /** Longest wait for the first token (or the whole answer when not streaming). */
  timeoutMs?: number;
  /** Longest silence between two chunks of a stream. */
  idleTimeoutMs?: number;
  /** SDK retries on 429/5xx/connection errors, inside the same deadline. */
  maxRetries?: number;
  fetch?: typeof fetch;
}

export const DEFAULT_OPENAI_MODEL = "gpt-4o-mini";
const DEFAULT_TIMEOUT_MS = 30_000;

/** One call's deadline: aborts when the caller aborts or the timer runs out; re-armed per chunk. */
function deadline(ms: number, outer?: AbortSignal) {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", onOuter, { once: true });
  // One timer for the whole call: a chunk only moves the deadline, the timer re-checks it when it fires.
  let due = Date.now() + ms;
  const fire = () => {
    const left = due - Date.now();
    if (left > 0) {
      timer = setTimeout(fire, left);
      return;
    }
    timedOut = true;
    controller.abort(new Error("timeout"));
  };
  timer = setTimeout(fire, ms);
  const arm = (t: number) => {
    due = Date.now() + t;
  };
  return {
    signal: controller.signal,
    arm,
    abort: () => controller.abort(),
    get timedOut() {
      return timedOut;
    },
    get callerAborted() {
      return Boolean(outer?.aborted);
    },
    clear() {
      if (timer) clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    },
  };
}

type Deadline = ReturnType<typeof deadline>;

function failure(err: unknown, d: Deadline, what: string): LlmError {
  if (err instanceof LlmError) return err;
  if (d.callerAborted) return new LlmError("aborted", "The request was cancelled.", err);
  if (d.timedOut || err instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmError("timeout", `The language model did not answer in time (${what}).`, err);
  }
  if (err instanceof OpenAI.APIError && err.status === 429) {
    return new LlmError("rate_limited", "The language model provider is rate limiting Parley; try again shortly.", err);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === "number") {
    return new LlmError("unavailable", `The language model provider answered ${err.status}.`, err);
  }
  return new LlmError("unavailable", "The language model provider is unreachable.", err);
}

const finishOf = (r: string | null | undefined): FinishReason => (r === "length" ? "length" : r === "content_filter" ? "content_filter" : "stop");

function usageOf(u: OpenAI.CompletionUsage | null | undefined, messages: ChatMessage[], text: string): LlmUsage {
  if (!u) return estimateUsage(messages, text);
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens, estimated: false };
}

export function openaiLlm(opts: OpenAiOptions): Llm {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const idleMs = opts.idleTimeoutMs ?? timeoutMs;
  const defaultModel = opts.model || DEFAULT_OPENAI_MODEL;
  const client = new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    timeout: timeoutMs,
    maxRetries: opts.maxRetries ?? 1,
    fetch: opts.fetch,
    // The SDK's own User-Agent, spelled out: it builds it from its class's name, which the Worker
    // bundles do not keep (wrangler.toml keep_names = false).
    defaultHeaders: { "User-Agent": `OpenAI/JS ${OPENAI_SDK_VERSION}` },
  });

  const params = (req: ChatRequest) => ({
    model: req.model || defaultModel,
    messages: req.messages,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
    ...(req.user ? { user: req.user } : {}),
  });

  async function complete(req: ChatRequest, extra: Record<string, unknown> = {}): Promise<Completion> {
    const d = deadline(timeoutMs, req.signal);
    try {
      const res = await client.chat.completions.create({ ...params(req), ...extra, stream: false }, { signal: d.signal });
      const choice = res.choices?.[0];
      if (!choice || typeof choice.message?.content !== "string") throw new LlmError("bad_response", "The language model returned no message.");
      const text = choice.message.content;
      return { text, model: res.model || params(req).model, usage: usageOf(res.usage, req.messages, text), finishReason: finishOf(choice.finish_reason) };
    } catch (err) {
      throw failure(err, d, "completion");
    } finally {
      d.clear();
    }
  }

  async function* stream(req: ChatRequest): AsyncGenerator<StreamEvent> {
    const d = deadline(timeoutMs, req.signal);
    let finished = false;
    try {
      let upstream: AsyncIterable<OpenAI.ChatCompletionChunk>;
      try {
        upstream = await client.chat.completions.create({ ...params(req), stream: true, stream_options: { include_usage: true } }, { signal: d.signal });
      } catch (err) {
        throw failure(err, d, "first token");
      }
      let text = "";
      let model = params(req).model;
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null | undefined;
      try {
        for await (const chunk of upstream) {
          d.arm(idleMs);
          if (chunk.model) model = chunk.model;
          if (chunk.usage) usage = chunk.usage;
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finish = choice.finish_reason;
          const piece = choice?.delta?.content;
          if (piece) {
            text += piece;
            yield { type: "delta", text: piece };
          }
        }
      } catch (err) {
        throw failure(err, d, "stream");
      }
      // The SDK ends an aborted stream quietly: tell a cut from a finished answer.
      if (d.callerAborted || d.timedOut || !finish) {
        throw failure(new Error(finish ? "aborted" : "stream ended before its finish_reason"), d, "stream");
      }
      finished = true;
      yield { type: "done", completion: { text, model, usage: usageOf(usage, req.messages, text), finishReason: finishOf(finish) } };
    } finally {
      d.clear();
      // A consumer that stops early (client gone) closes the upstream connection too.
      if (!finished) d.abort();
    }
  }

  async function structured<T>(req: StructuredRequest<T>): Promise<Structured<T>> {
    const schema = strictJsonSchema(req.schema);
    const res = await complete(req, { response_format: { type: "json_schema", json_schema: { name: req.name, schema, strict: true } } });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch (err) {
      throw new LlmError("bad_response", "The language model returned malformed JSON.", err);
    }
    const r = req.schema.safeParse(parsed);
    if (!r.success) throw new LlmError("bad_response", "The language model's answer does not match the expected shape.", r.error);
    return { data: r.data, model: res.model, usage: res.usage };
  }

  return { provider: "openai", defaultModel, complete: (req) => complete(req), stream, structured };
}

// ---- choosing a provider from the environment ----

export interface LlmEnv {
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_MODEL?: string;
  /** Milliseconds to the first token (default 30000); also the longest silence mid-stream. */
  OPENAI_TIMEOUT_MS?: string;
  /** SDK retries on 429/5xx (default 1). */
  OPENAI_MAX_RETRIES?: string;
  /** Comma-separated models assistants may name (default: lib/ai-limits.ts DEFAULT_ALLOWED_MODELS). */
  OPENAI_ALLOWED_MODELS?: string;
}

const positive = (v: string | undefined) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : undefined);

/**
 * The OpenAI provider when OPENAI_API_KEY is set (any compatible server via OPENAI_BASE_URL), else
 * parley-offline. `fetch` replaces the runtime's (the local server passes one over node:http).
 */
export function llmFromEnv(env: LlmEnv, transport: { fetch?: typeof fetch } = {}): Llm {
  const allowedModels = allowedModelsFromEnv(env.OPENAI_ALLOWED_MODELS);
  if (!env.OPENAI_API_KEY) return { ...offlineLlm(), allowedModels };
  const llm = openaiLlm({
    apiKey: env.OPENAI_API_KEY,
    baseURL: env.OPENAI_BASE_URL || undefined,
    model: env.OPENAI_MODEL || undefined,
    timeoutMs: positive(env.OPENAI_TIMEOUT_MS) || undefined,
    maxRetries: positive(env.OPENAI_MAX_RETRIES),
    fetch: transport.fetch,
  });
  return { ...llm, allowedModels };
}

export { OFFLINE_MODEL };
