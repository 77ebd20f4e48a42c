// A fake OpenAI-compatible server on loopback that speaks the real wire format, so the real
// openai SDK, its SSE parser and its error classes run in tests: POST /v1/chat/completions
// answers a `chat.completion` JSON or a `chat.completion.chunk` SSE stream ending
// `data: [DONE]` (with a usage chunk when stream_options.include_usage), and json_schema
// response formats get an object shaped by the schema. Tests script what the next calls do
// (fail with a status, fail mid-stream, delay, hang, send N chunks) with `enqueue`.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Behaviour {
  /** Answer this HTTP status with an OpenAI error body instead of a completion. */
  status?: number;
  /** The reply text (default: "Hello from the fake model."), split into `chunks` pieces when streaming. */
  text?: string;
  /** Stream exactly this many content chunks (the text repeated or cut to fit). */
  chunks?: number;
  /** Wait before the response headers. */
  delayMs?: number;
  /** Wait between two streamed chunks. */
  chunkDelayMs?: number;
  /** Never answer (until the client gives up). */
  hang?: boolean;
  /** After this many content chunks: `destroy` the socket, send an `error` data line, or `hang`. */
  failAfter?: { chunks: number; how: "destroy" | "error" | "hang" };
  /** After this many content chunks, wait for `until` before sending the rest (a test's step between two chunks). */
  pauseAfter?: { chunks: number; until: Promise<unknown> };
  /** Structured answer for json_schema requests (default: built from the schema). */
  json?: unknown;
  /** Usage to report (default: ~4 characters a token). */
  usage?: { prompt_tokens: number; completion_tokens: number };
  finishReason?: "stop" | "length";
}

export interface RecordedRequest {
  /** performance.now() when the request's body had arrived. */
  at: number;
  path: string;
  headers: IncomingMessage["headers"];
  body: any;
}

export interface FakeOpenAI {
  /** Base URL for OPENAI_BASE_URL / the SDK's baseURL (ends in /v1). */
  url: string;
  requests: RecordedRequest[];
  /** Scripts the next calls, in order; unscripted calls use the default behaviour. */
  enqueue(...b: Behaviour[]): void;
  setDefault(b: Behaviour): void;
  /** Calls still being answered (a hung or slow one counts until its socket closes). */
  open(): number;
  reset(): void;
  close(): Promise<void>;
}

export const FAKE_MODEL = "fake-gpt";
export const FAKE_TEXT = "Hello from the fake model.";

const tokens = (s: string) => Math.ceil(s.length / 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A minimal value satisfying a JSON Schema (first enum value, empty arrays, "fake" strings). */
export function sampleOf(schema: any): unknown {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.anyOf)) return sampleOf(schema.anyOf[0]);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sampleOf(v)]));
    case "array":
      return [];
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return "fake";
  }
}

function pieces(text: string, n?: number): string[] {
  if (!n) return text.match(/\S+\s*/g) ?? [text];
  const words = text.match(/\S+\s*/g) ?? [text];
  return Array.from({ length: n }, (_, i) => words[i % words.length]!);
}

function errorType(status: number) {
  if (status === 401) return { type: "invalid_request_error", code: "invalid_api_key" };
  if (status === 429) return { type: "requests", code: "rate_limit_exceeded" };
  if (status >= 500) return { type: "server_error", code: null };
  return { type: "invalid_request_error", code: null };
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: Behaviour[] = [];
  let fallback: Behaviour = {};
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import("node:net").Socket>();
  let inFlight = 0;

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.on("close", () => inFlight--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: any = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
    } catch {
      body = null;
    }
    requests.push({ at: performance.now(), path: req.url ?? "", headers: req.headers, body });
    const b: Behaviour = queue.shift() ?? fallback;

    if (req.method !== "POST" || !/\/chat\/completions$/.test(req.url ?? "")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "Unknown path", type: "invalid_request_error", param: null, code: "unknown_url" } }));
      return;
    }
    if (b.hang) return; // keep the socket open, answer nothing
    if (b.delayMs) await sleep(b.delayMs);
    if (res.destroyed) return;
    if (b.status && b.status >= 400) {
      const t = errorType(b.status);
      res.writeHead(b.status, { "content-type": "application/json", ...(b.status === 429 ? { "retry-after": "0" } : {}) });
      res.end(JSON.stringify({ error: { message: `Scripted failure ${b.status}`, type: t.type, param: null, code: t.code } }));
      return;
    }
    if (!body || !Array.isArray(body.messages)) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "messages is required", type: "invalid_request_error", param: "messages", code: null } }));
      return;
    }

    const id = `chatcmpl-fake${Math.random().toString(36).slice(2, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = typeof body.model === "string" ? body.model : FAKE_MODEL;
    const schema = body.response_format?.type === "json_schema" ? body.response_format.json_schema?.schema : undefined;
    const text = schema ? JSON.stringify(b.json ?? sampleOf(schema)) : (b.text ?? FAKE_TEXT);
    const promptText = body.messages.map((m: { content?: unknown }) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""))).join("\n");
    const parts = schema ? [text] : pieces(text, b.chunks);
    const completionText = parts.join("");
    const usage = b.usage ?? { prompt_tokens: tokens(promptText), completion_tokens: tokens(completionText) };
    const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
    const finish = b.finishReason ?? "stop";

    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message: { role: "assistant", content: completionText, refusal: null }, logprobs: null, finish_reason: finish }],
          usage: fullUsage,
          system_fingerprint: "fp_fake",
        }),
      );
      return;
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [{ index: 0, delta, logprobs: null, finish_reason }] })}\n\n`;
    res.write(chunk({ role: "assistant", content: "", refusal: null }));
    let sent = 0;
    for (const p of parts) {
      if (res.destroyed) return;
      if (b.failAfter && sent >= b.failAfter.chunks) {
        if (b.failAfter.how === "destroy") {
          // Let what was written reach the client first, then cut the connection.
          await sleep(30);
          res.socket?.destroy();
        } else if (b.failAfter.how === "error") res.end(`data: ${JSON.stringify({ error: { message: "Scripted mid-stream failure", type: "server_error", param: null, code: null } })}\n\n`);
        return; // hang: leave it open
      }
      if (b.pauseAfter && sent === b.pauseAfter.chunks) await b.pauseAfter.until;
      if (b.chunkDelayMs && sent > 0) await sleep(b.chunkDelayMs);
      res.write(chunk({ content: p }));
      sent++;
    }
    if (b.failAfter && sent >= b.failAfter.chunks && b.failAfter.chunks >= parts.length) {
      if (b.failAfter.how === "destroy") {
        await sleep(30);
        res.socket?.destroy();
      }
      return;
    }
    res.write(chunk({}, finish));
    if (body.stream_options?.include_usage) {
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [], usage: fullUsage })}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...b) => void queue.push(...b),
    setDefault: (b) => {
      fallback = b;
    },
    open: () => inFlight,
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      fallback = {};
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
