// Server-sent events of POST /v1/chat/stream, resumable. Every event carries
// `id: <message_id>:<seq>` (seq from 1); events are also appended to a Redis list
// `chat:sse:<workspace_id>:<message_id>` (kept STREAM_TTL seconds), so a request with
// `Last-Event-ID: <message_id>:<seq>` finds the stream and replays what came after seq,
// then follows it live until it ends. A `: heartbeat` comment keeps idle connections open.
import type { Kv } from "../../lib/kv";

export const STREAM_TTL = 60 * 60;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** How often buffered events are appended to Redis (a Redis call per delta would cost each chunk a round trip). */
const FLUSH_MS = 100;
const FOLLOW_POLL_MS = 200;
/** A resumed stream whose producer has been silent this long is given up. */
const FOLLOW_IDLE_MS = 30_000;

const TERMINAL = new Set(["message_end", "error"]);
const LAST_EVENT_ID = /^(msg_[0-9a-z]{26}):(\d{1,9})$/;

export const replayKey = (workspaceId: string, messageId: string) => `chat:sse:${workspaceId}:${messageId}`;

export function parseLastEventId(v: string): { messageId: string; seq: number } | null {
  const m = LAST_EVENT_ID.exec(v.trim());
  return m ? { messageId: m[1]!, seq: Number(m[2]) } : null;
}

interface Stored {
  seq: number;
  event: string;
  data: unknown;
}

const encoder = new TextEncoder();
const frame = (id: string, event: string, json: string) => `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // Proxies (nginx) must not buffer the stream.
  "x-accel-buffering": "no",
};

export interface ChannelOptions {
  kv: Kv;
  workspaceId: string;
  messageId: string;
  heartbeatMs: number;
  /** The request's signal: a client that goes away aborts `channel.signal`. */
  requestSignal?: AbortSignal;
  /** Resumed streams do not write to Redis: they only read it. */
  record?: boolean;
  onError?: (err: unknown) => void;
}

/** One SSE response: numbered events, heartbeats, recording for replay, and an abort signal for the producer. */
export class SseChannel {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly abort = new AbortController();
  /**
   * Removed when the channel stops. Left on the request's signal, it would keep this channel (and
   * through it the request) alive: Node's fetch Request holds its signal from a FinalizationRegistry
   * until the Request is collected, and the Request is reachable from here. Every chat request
   * leaked ~36 KB that way on the local server.
   */
  private readonly onRequestAbort = () => this.gone();
  private seq = 0;
  private closed = false;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private pending: string[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ChannelOptions) {
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => this.gone(),
    });
    if (opts.requestSignal?.aborted) this.gone();
    opts.requestSignal?.addEventListener("abort", this.onRequestAbort, { once: true });
    this.heartbeat = setInterval(() => this.comment("heartbeat"), opts.heartbeatMs);
  }

  /** Aborted when the client disconnects. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get clientGone(): boolean {
    return this.abort.signal.aborted;
  }

  response(): Response {
    return new Response(this.body, { status: 200, headers: SSE_HEADERS });
  }

  /** Sends the next event; terminal events (message_end, error) are flushed to Redis at once. */
  send(event: string, data: unknown): void {
    this.seq++;
    const json = JSON.stringify(data);
    this.write(frame(`${this.opts.messageId}:${this.seq}`, event, json));
    if (this.opts.record !== false) {
      // The Stored shape, without serialising `data` twice.
      this.pending.push(`{"seq":${this.seq},"event":${JSON.stringify(event)},"data":${json}}`);
      // The first event is flushed at once so the stream is resumable from its start; the last so it is complete.
      if (this.seq === 1 || TERMINAL.has(event)) this.flush();
      else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
    }
  }

  /** Re-sends a recorded event with its original id. */
  replay(s: Stored): void {
    this.seq = s.seq;
    this.write(frame(`${this.opts.messageId}:${s.seq}`, s.event, JSON.stringify(s.data)));
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Ends the response once everything recorded is in Redis. */
  async close(): Promise<void> {
    this.drain();
    this.flush();
    await this.writes;
    this.stop();
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // already cancelled by the client
    }
  }

  private out = "";

  /** Frames written in the same tick go out as one chunk (one socket write), with no added delay. */
  private write(text: string): void {
    if (this.closed || this.clientGone) return;
    if (!this.out) queueMicrotask(() => this.drain());
    this.out += text;
  }

  private drain(): void {
    if (!this.out) return;
    const text = this.out;
    this.out = "";
    if (this.closed || this.clientGone) return;
    try {
      this.controller.enqueue(encoder.encode(text));
    } catch {
      this.gone();
    }
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    const key = replayKey(this.opts.workspaceId, this.opts.messageId);
    // Serialised, so Redis keeps the events in order; a failure only costs resumability.
    this.writes = this.writes.then(() => this.opts.kv.rpush(key, batch, STREAM_TTL)).catch((err) => this.opts.onError?.(err));
  }

  private gone(): void {
    if (!this.abort.signal.aborted) this.abort.abort(new Error("client disconnected"));
    this.stop();
  }

  private stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.opts.requestSignal?.removeEventListener("abort", this.onRequestAbort);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Recorded events of a stream, or null when there is none for this workspace (expired, unknown, another tenant's). */
export async function recorded(kv: Kv, workspaceId: string, messageId: string): Promise<Stored[] | null> {
  const raw = await kv.lrange(replayKey(workspaceId, messageId), 0, -1);
  return raw.length ? raw.map((r) => JSON.parse(r) as Stored) : null;
}

/** Replays the events after `afterSeq`, then follows the stream in Redis until it ends. */
export async function follow(channel: SseChannel, kv: Kv, workspaceId: string, messageId: string, afterSeq: number, first: Stored[]): Promise<void> {
  let seen = 0;
  let lastNews = Date.now();
  let events = first;
  for (;;) {
    for (const e of events.slice(seen)) {
      if (e.seq > afterSeq) channel.replay(e);
      if (TERMINAL.has(e.event)) return channel.close();
    }
    if (events.length > seen) lastNews = Date.now();
    seen = events.length;
    if (channel.clientGone) return channel.close();
    if (Date.now() - lastNews > FOLLOW_IDLE_MS) {
      channel.send("error", { code: "service_unavailable", message: "The stream stopped before it ended; send the message again." });
      return channel.close();
    }
    await sleep(FOLLOW_POLL_MS, channel.signal);
    events = (await recorded(kv, workspaceId, messageId)) ?? events;
  }
}
