// A local server that speaks the part of QStash's HTTP API Parley uses, for the embedded default
// and the tests (QStash itself cannot be reached from here). The real @upstash/qstash Client
// publishes to it through QSTASH_URL: POST /v2/publish/<url>, POST /v2/batch,
// GET|DELETE /v2/messages/<id>, POST /v2/schedules/<url> (Upstash-Cron, Upstash-Schedule-Id),
// GET /v2/schedules[/<id>], DELETE /v2/schedules/<id>; with Upstash-Delay, -Not-Before,
// -Retries, -Method, -Deduplication-Id, -Content-Based-Deduplication and -Forward-* headers.
// It delivers like QStash: a real Upstash-Signature JWT (HS256, iss "Upstash", sub = the URL,
// body = base64url SHA-256 of the body) signed with the current signing key, Upstash-Message-Id,
// Upstash-Retried, Upstash-Schedule-Id; retries non-2xx answers with QStash's backoff unless the
// answer is 489 + Upstash-NonRetryable-Error: true; and keeps pending messages in DATA_DIR.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { type Cron, nextFire, parseCron } from "./cron";
import { QStashStore, type StoredMessage, type StoredSchedule } from "./qstash-store";

export type Deliver = (req: Request) => Promise<Response>;

export interface LocalQStashOptions {
  /** Where pending messages and schedules are kept; null keeps them in memory. */
  dataDir: string | null;
  /** The bearer token publishers must send (QSTASH_TOKEN). */
  token: string;
  /** Deliveries are signed with `current` (the Receiver also accepts `next`). */
  signingKeys: { current: string; next: string };
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** How a delivery reaches its URL: fetch by default; tests may hand in an in-process dispatch. */
  deliver?: Deliver;
  /** Milliseconds before retry number `n` (1, 2, …). Default: QStash's min(1 day, e^(2.5n) s). */
  backoff?: (n: number) => number;
  /** Deliveries in flight at once. */
  parallelism?: number;
  /** Retries when the publisher sends no Upstash-Retries (QStash: the plan's maximum, 3 on free). */
  defaultRetries?: number;
  /** How long a deduplication id is remembered. */
  dedupWindowMs?: number;
  /** A delivery attempt not answered within this is a failure (and retried). */
  timeoutMs?: number;
  /** Start without delivering until `resume()` (the local server resumes once it listens). */
  paused?: boolean;
}

export interface DeliveryEvent {
  messageId: string;
  url: string;
  retried: number;
  status: number | null;
  scheduleId?: string;
}

const MAX_TIMER = 2 ** 31 - 1;
const DEFAULT_DEDUP_WINDOW = 10 * 60_000;

/** QStash's default backoff: min(86400, e^(2.5 n)) seconds before retry n. */
export const qstashBackoff = (n: number) => Math.min(86_400, Math.exp(2.5 * n)) * 1000;

const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");

/** An Upstash-Signature JWT as QStash makes it (exported for tests of the verifying side). */
export function signQStashJwt(key: string, url: string, body: Uint8Array | string, opts: { now?: number; ttl?: number } = {}): string {
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      iss: "Upstash",
      sub: url,
      exp: now + (opts.ttl ?? 300),
      nbf: now,
      iat: now,
      jti: `jwt_${randomBytes(16).toString("hex")}`,
      // base64url with its padding, as QStash sends it.
      body: createHash("sha256").update(body).digest("base64").replace(/\+/g, "-").replace(/\//g, "_"),
    }),
  );
  const sig = createHmac("sha256", key).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${sig}`;
}

/** A tiny binary min-heap of [due, id]; stale entries are skipped by the reader. */
class DueHeap {
  private a: Array<[number, string]> = [];
  get size() {
    return this.a.length;
  }
  peek() {
    return this.a[0];
  }
  push(e: [number, string]) {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]![0] <= a[i]![0]) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop() {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]![0] < a[m]![0]) m = l;
        if (r < a.length && a[r]![0] < a[m]![0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

class BadRequest extends Error {}

function parseDuration(v: string): number {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  for (m = re.exec(v); m; m = re.exec(v)) {
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  if (end !== v.length || v.length === 0) throw new BadRequest(`invalid duration: ${v}`);
  return ms;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const fail = (status: number, error: string) => json({ error }, status);

export class LocalQStash extends EventEmitter {
  url = "";
  private server: Server | null = null;
  private heap = new DueHeap();
  private inFlight = new Map<string, Promise<void>>();
  private crons = new Map<string, { cron: Cron; next: number | null }>();
  private timer: NodeJS.Timeout | undefined;
  private kicked = false;
  private offset = 0;
  private paused: boolean;
  private closed = false;
  private deliver: Deliver;
  /** Messages that failed for good (QStash's DLQ), most recent last; in memory only. */
  readonly dlq: StoredMessage[] = [];

  private constructor(
    private readonly opts: LocalQStashOptions,
    private readonly store: QStashStore,
  ) {
    super();
    this.paused = opts.paused ?? false;
    this.deliver = opts.deliver ?? ((req) => fetch(req));
    for (const m of store.messages.values()) this.heap.push([m.notBefore, m.id]);
    for (const s of store.schedules.values()) this.armCron(s);
  }

  static async start(opts: LocalQStashOptions): Promise<LocalQStash> {
    const store = await QStashStore.open(opts.dataDir, opts.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW, Date.now());
    const q = new LocalQStash(opts, store);
    const server = createServer(getRequestListener((req) => q.handle(req)));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    q.server = server;
    q.url = `http://${opts.host ?? "127.0.0.1"}:${port}`;
    q.kick();
    return q;
  }

  /** What a publisher needs: QSTASH_URL and QSTASH_TOKEN. */
  get credentials(): { url: string; token: string } {
    return { url: this.url, token: this.opts.token };
  }

  /** The local QStash clock: real time plus whatever `advance` added (tests). */
  now(): number {
    return Date.now() + this.offset;
  }

  /** Moves the QStash clock forward: delays and schedules fall due without waiting. */
  advance(ms: number) {
    this.offset += ms;
    this.kick();
  }

  resume() {
    this.paused = false;
    this.kick();
  }

  /** Delivers through `fn` instead of fetch (an in-process dispatch), or back to fetch with null. */
  deliverVia(fn: Deliver | null) {
    this.deliver = fn ?? ((req) => fetch(req));
  }

  pending(): StoredMessage[] {
    return [...this.store.messages.values()];
  }

  schedules(): StoredSchedule[] {
    return [...this.store.schedules.values()];
  }

  /** Resolves when nothing is due now and nothing is in flight. */
  async idle(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      const now = this.now();
      const due = [...this.store.messages.values()].some((m) => m.notBefore <= now);
      if (!due && this.inFlight.size === 0) return;
      await Promise.race([...this.inFlight.values(), new Promise((r) => setTimeout(r, 5))]);
    }
  }

  async close() {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
    if (this.server) {
      this.server.closeAllConnections?.();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    await this.store.close();
  }

  // ---- HTTP API ----

  async handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${this.opts.token}`) return fail(401, "Unauthorized");
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      if (req.method === "POST" && path.startsWith("/v2/publish/")) {
        const dest = path.slice("/v2/publish/".length) + url.search;
        const body = new Uint8Array(await req.arrayBuffer());
        const m = this.prepare(dest, req.headers, body);
        const r = await this.enqueue([m]);
        return json(r[0], r[0]!.deduplicated ? 202 : 201);
      }
      if (req.method === "POST" && path === "/v2/batch") {
        const items = (await req.json().catch(() => null)) as Array<{ destination?: unknown; headers?: Record<string, string>; body?: unknown }> | null;
        if (!Array.isArray(items)) throw new BadRequest("batch body must be a JSON array");
        const prepared = items.map((it) => {
          if (typeof it?.destination !== "string") throw new BadRequest("each batch message needs a destination");
          const body = typeof it.body === "string" ? new TextEncoder().encode(it.body) : new Uint8Array();
          return this.prepare(it.destination, new Headers(it.headers ?? {}), body);
        });
        return json(await this.enqueue(prepared), 200);
      }
      const msg = /^\/v2\/messages\/([^/]+)$/.exec(path);
      if (msg) {
        const m = this.store.messages.get(decodeURIComponent(msg[1]!));
        if (!m) return fail(404, "message not found");
        if (req.method === "GET") return json(this.messageView(m));
        if (req.method === "DELETE") {
          this.store.deleteMessage(m.id);
          await this.store.commit();
          return json({ cancelled: 1 });
        }
      }
      if (req.method === "POST" && path.startsWith("/v2/schedules/")) {
        const dest = path.slice("/v2/schedules/".length) + url.search;
        return json(await this.createSchedule(dest, req.headers, new Uint8Array(await req.arrayBuffer())));
      }
      if (req.method === "GET" && path === "/v2/schedules") return json(this.schedules().map((s) => this.scheduleView(s)));
      const sch = /^\/v2\/schedules\/([^/]+)$/.exec(path);
      if (sch) {
        const s = this.store.schedules.get(decodeURIComponent(sch[1]!));
        if (!s) return fail(404, "schedule not found");
        if (req.method === "GET") return json(this.scheduleView(s));
        if (req.method === "DELETE") {
          this.store.deleteSchedule(s.id);
          this.crons.delete(s.id);
          await this.store.commit();
          return new Response(null, { status: 200 });
        }
      }
      return fail(404, `no route for ${req.method} ${path}`);
    } catch (err) {
      if (err instanceof BadRequest) return fail(400, err.message);
      throw err;
    }
  }

  private forwarded(headers: Headers): Record<string, string> {
    const out: Record<string, string> = {};
    const ct = headers.get("content-type");
    if (ct) out["content-type"] = ct;
    headers.forEach((v, k) => {
      if (k.startsWith("upstash-forward-")) out[k.slice("upstash-forward-".length)] = v;
    });
    return out;
  }

  private retriesOf(headers: Headers): number {
    const r = headers.get("upstash-retries");
    if (r === null) return this.opts.defaultRetries ?? 3;
    if (!/^\d+$/.test(r)) throw new BadRequest("Upstash-Retries must be a non-negative integer");
    return Number(r);
  }

  private prepare(dest: string, headers: Headers, body: Uint8Array): StoredMessage & { dedup?: string } {
    if (!/^https?:\/\/[^/]/.test(dest)) throw new BadRequest(`invalid destination url: ${dest}`);
    const now = this.now();
    let notBefore = now;
    const delay = headers.get("upstash-delay");
    if (delay) notBefore = now + parseDuration(delay);
    const nb = headers.get("upstash-not-before");
    if (nb) {
      if (!/^\d+$/.test(nb)) throw new BadRequest("Upstash-Not-Before must be a unix timestamp in seconds");
      notBefore = Number(nb) * 1000; // wins over Upstash-Delay, as on QStash
    }
    const fwd = this.forwarded(headers);
    let dedup = headers.get("upstash-deduplication-id") ?? undefined;
    if (!dedup && headers.get("upstash-content-based-deduplication") === "true") {
      const h = createHash("sha256").update(dest).update("\n");
      for (const k of Object.keys(fwd).sort()) h.update(`${k}:${fwd[k]}\n`);
      dedup = `content:${h.update(body).digest("hex")}`;
    }
    return {
      id: `msg_${randomBytes(18).toString("base64url")}`,
      url: dest,
      method: (headers.get("upstash-method") ?? "POST").toUpperCase(),
      headers: fwd,
      body: Buffer.from(body).toString("base64"),
      notBefore,
      retries: this.retriesOf(headers),
      retried: 0,
      createdAt: now,
      ...(dedup ? { dedup, dedupId: dedup } : {}),
    };
  }

  private async enqueue(items: Array<StoredMessage & { dedup?: string }>) {
    const now = this.now();
    const out: Array<{ messageId: string; url: string; deduplicated?: boolean }> = [];
    for (const { dedup, ...m } of items) {
      const seen = dedup ? this.store.recall(dedup, now) : undefined;
      if (seen) {
        out.push({ messageId: seen, url: m.url, deduplicated: true });
        continue;
      }
      this.store.putMessage(m);
      if (dedup) this.store.remember(dedup, m.id, now);
      this.heap.push([m.notBefore, m.id]);
      out.push({ messageId: m.id, url: m.url });
    }
    // Acknowledged only once on disk: a crash after the answer loses nothing.
    await this.store.commit();
    this.kick();
    return out;
  }

  private async createSchedule(dest: string, headers: Headers, body: Uint8Array) {
    if (!/^https?:\/\/[^/]/.test(dest)) throw new BadRequest(`invalid destination url: ${dest}`);
    const expr = headers.get("upstash-cron");
    if (!expr) throw new BadRequest("Upstash-Cron header is required");
    try {
      parseCron(expr);
    } catch (e) {
      throw new BadRequest((e as Error).message);
    }
    const id = headers.get("upstash-schedule-id") ?? `scd_${randomBytes(18).toString("base64url")}`;
    const delay = headers.get("upstash-delay");
    const s: StoredSchedule = {
      id,
      cron: expr,
      destination: dest,
      method: (headers.get("upstash-method") ?? "POST").toUpperCase(),
      headers: this.forwarded(headers),
      body: Buffer.from(body).toString("base64"),
      retries: this.retriesOf(headers),
      delay: delay ? Math.round(parseDuration(delay) / 1000) : 0,
      createdAt: this.store.schedules.get(id)?.createdAt ?? this.now(),
    };
    this.store.putSchedule(s);
    this.armCron(s);
    await this.store.commit();
    this.kick();
    return { scheduleId: id };
  }

  private armCron(s: StoredSchedule) {
    const cron = parseCron(s.cron);
    this.crons.set(s.id, { cron, next: nextFire(cron, this.now()) });
  }

  private messageView(m: StoredMessage) {
    return {
      messageId: m.id,
      url: m.url,
      method: m.method,
      header: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, [v]])),
      body: Buffer.from(m.body, "base64").toString("utf8"),
      maxRetries: m.retries,
      retried: m.retried,
      notBefore: m.notBefore,
      createdAt: m.createdAt,
      ...(m.scheduleId ? { scheduleId: m.scheduleId } : {}),
    };
  }

  private scheduleView(s: StoredSchedule) {
    return {
      scheduleId: s.id,
      cron: s.cron,
      createdAt: s.createdAt,
      destination: s.destination,
      method: s.method,
      header: Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k, [v]])),
      body: Buffer.from(s.body, "base64").toString("utf8"),
      retries: s.retries,
      delay: s.delay,
      isPaused: false,
    };
  }

  // ---- delivery ----

  private kick() {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.pump();
    });
  }

  private pump() {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.paused || this.closed) return;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, c] of this.crons) {
      if (c.next === null) continue;
      if (c.next <= now) {
        const s = this.store.schedules.get(id);
        // Missed firings (the server was down, or the clock jumped) collapse into one.
        c.next = nextFire(c.cron, now);
        if (s) this.fire(s, now);
      }
      if (c.next !== null) next = Math.min(next, c.next);
    }
    const parallelism = this.opts.parallelism ?? 32;
    while (this.heap.size && this.inFlight.size < parallelism) {
      const [due, id] = this.heap.peek()!;
      const m = this.store.messages.get(id);
      if (!m || m.notBefore !== due || this.inFlight.has(id)) {
        this.heap.pop();
        continue;
      }
      if (due > now) break;
      this.heap.pop();
      this.attempt(m);
    }
    // When saturated, a finishing delivery pumps again.
    if (this.heap.size && this.inFlight.size < parallelism) next = Math.min(next, this.heap.peek()![0]);
    if (next !== Number.POSITIVE_INFINITY) {
      this.timer = setTimeout(() => this.pump(), Math.min(MAX_TIMER, Math.max(0, next - now)));
      this.timer.unref();
    }
  }

  private fire(s: StoredSchedule, now: number) {
    const m: StoredMessage = {
      id: `msg_${randomBytes(18).toString("base64url")}`,
      url: s.destination,
      method: s.method,
      headers: s.headers,
      body: s.body,
      notBefore: now + s.delay * 1000,
      retries: s.retries,
      retried: 0,
      createdAt: now,
      scheduleId: s.id,
    };
    this.store.putMessage(m);
    this.heap.push([m.notBefore, m.id]);
  }

  private attempt(m: StoredMessage) {
    const run = this.send(m).finally(() => {
      this.inFlight.delete(m.id);
      this.kick();
    });
    this.inFlight.set(m.id, run);
  }

  private async send(m: StoredMessage) {
    const body = Buffer.from(m.body, "base64");
    const headers = new Headers(m.headers);
    headers.set("Upstash-Signature", signQStashJwt(this.opts.signingKeys.current, m.url, body));
    headers.set("Upstash-Message-Id", m.id);
    headers.set("Upstash-Retried", String(m.retried));
    headers.set("User-Agent", "Upstash-QStash");
    headers.set("Upstash-Caller-Ip", "127.0.0.1");
    if (m.scheduleId) headers.set("Upstash-Schedule-Id", m.scheduleId);
    let status: number | null = null;
    let nonRetryable = false;
    try {
      const hasBody = m.method !== "GET" && m.method !== "HEAD";
      const res = await this.deliver(
        new Request(m.url, { method: m.method, headers, body: hasBody ? body : undefined, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000) }),
      );
      status = res.status;
      nonRetryable = res.status === 489 && res.headers.get("upstash-nonretryable-error") === "true";
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = null; // connection refused, timeout: retried like a 5xx
    }
    const event: DeliveryEvent = { messageId: m.id, url: m.url, retried: m.retried, status, ...(m.scheduleId ? { scheduleId: m.scheduleId } : {}) };
    if (!this.store.messages.has(m.id)) return; // cancelled while in flight
    if (status !== null && status >= 200 && status < 300) {
      this.store.deleteMessage(m.id);
      this.emit("delivered", event);
      return;
    }
    if (!nonRetryable && m.retried < m.retries && !this.closed) {
      const retried = m.retried + 1;
      const again: StoredMessage = { ...m, retried, notBefore: this.now() + (this.opts.backoff ?? qstashBackoff)(retried) };
      this.store.putMessage(again);
      this.heap.push([again.notBefore, again.id]);
      this.emit("retry", event);
      return;
    }
    if (!nonRetryable && this.closed) return; // shutting down: the message stays pending
    this.store.deleteMessage(m.id);
    this.dlq.push(m);
    if (this.dlq.length > 1000) this.dlq.shift();
    this.emit("failed", event);
  }
}
