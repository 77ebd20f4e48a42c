// Shared helpers of the chat tests: SSE parsing, assistants, API keys, and reading a stream
// event by event through the in-process dispatcher.
import { expect } from "vitest";
import { BASE, type Harness } from "../support/harness";

export interface SseEvent {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
}

/** Parses a text/event-stream body into events (comments kept as `{comment}`). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    const e: SseEvent = {};
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) e.comment = line.slice(1).trim();
      else if (line.startsWith("id: ")) e.id = line.slice(4);
      else if (line.startsWith("event: ")) e.event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length) {
      const raw = data.join("\n");
      try {
        e.data = JSON.parse(raw);
      } catch {
        e.data = raw;
      }
    }
    out.push(e);
  }
  return out;
}

export const eventsOnly = (list: SseEvent[]) => list.filter((e) => e.event);
export const textOf = (list: SseEvent[]) =>
  list
    .filter((e) => e.event === "delta")
    .map((e) => e.data.text)
    .join("");

export async function createAssistant(h: Harness, token: string, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/assistants", {
    token,
    body: { name: "Support bot", instructions: "Answer briefly.", knowledge: "Refunds are processed within 5 business days. Shipping is free for orders over 50 euros.", ...body },
  });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; name: string; instructions: string; knowledge: string | null; model: string | null; temperature: number | null };
}

export async function createKey(h: Harness, token: string, scopes?: string[]) {
  const r = await h.call("POST", "/v1/api-keys", { token, body: { name: "chat key", ...(scopes ? { scopes } : {}) } });
  expect(r.status, r.text).toBe(201);
  return r.body.key as string;
}

/** Opens a stream through the dispatcher and returns the response (read it yourself). */
export function openStream(h: Harness, token: string, body: unknown, opts: { signal?: AbortSignal; headers?: Record<string, string> } = {}) {
  return h.dispatch(
    new Request(`${BASE}/v1/chat/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(opts.headers ?? {}) },
      body: JSON.stringify(body),
      signal: opts.signal,
    }),
  );
}

/** Reads SSE events from a response until `until` says stop (or the stream ends). */
export async function readEvents(res: Response, until: (e: SseEvent, all: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const all: SseEvent[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at = buf.indexOf("\n\n");
    while (at >= 0) {
      const [e] = parseSse(buf.slice(0, at + 2));
      buf = buf.slice(at + 2);
      if (e) {
        all.push(e);
        if (until(e, all)) {
          await reader.cancel().catch(() => {});
          return all;
        }
      }
      at = buf.indexOf("\n\n");
    }
  }
  return all;
}

/** Polls `fn` until it returns something truthy (background work finishing), or fails after ~5 s. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what = "condition"): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Reads a stream one SSE event at a time (without cancelling it in between). */
export function sseReader(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  return {
    async next(): Promise<SseEvent | null> {
      for (;;) {
        const at = buf.indexOf("\n\n");
        if (at >= 0) {
          const [e] = parseSse(buf.slice(0, at + 2));
          buf = buf.slice(at + 2);
          if (e) return e;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buf += decoder.decode(value, { stream: true });
      }
    },
    async rest(): Promise<SseEvent[]> {
      const out: SseEvent[] = [];
      for (let e = await this.next(); e; e = await this.next()) out.push(e);
      return out;
    },
  };
}
