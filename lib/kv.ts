// The small key-value interface Parley needs from Redis (rate limits, counters, idempotency,
// stream replay), and its production implementation over Upstash's REST API.
import { Redis } from "@upstash/redis";
import { DependencyError } from "./errors";

export interface Kv {
  get(key: string): Promise<string | null>;
  /** Returns false when `nx` is set and the key already exists. */
  set(key: string, value: string, opts?: { ex?: number; nx?: boolean }): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Increments (by `by`, default 1) and, when the key is new, gives it a time to live. */
  incr(key: string, ttlSeconds?: number, by?: number): Promise<number>;
  /** Time to live in seconds; -2 when the key does not exist, -1 when it has none. */
  ttl(key: string): Promise<number>;
  rpush(key: string, values: string[], ttlSeconds?: number): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  /** Adds to several fields of a hash in one round trip (giving the hash a time to live when new); returns their new values. */
  hincrby(key: string, increments: Record<string, number>, ttlSeconds?: number): Promise<Record<string, number>>;
  /** Every field of a hash as a number ({} when the key does not exist). */
  hgetall(key: string): Promise<Record<string, number>>;
  sadd(key: string, members: string[], ttlSeconds?: number): Promise<void>;
  smembers(key: string): Promise<string[]>;
}


export const REDIS_TIMEOUT_MS = 2_000;
/** How long commands fail at once after one timed out. */
export const SILENT_BACKOFF_MS = 5_000;

/** REDIS_TIMEOUT_MS from the environment (a positive number), else the default. */
export function redisTimeoutMs(env: { REDIS_TIMEOUT_MS?: string }): number {
  return Number(env.REDIS_TIMEOUT_MS) > 0 ? Number(env.REDIS_TIMEOUT_MS) : REDIS_TIMEOUT_MS;
}

/**
 * `timeoutMs` bounds each command (a pipeline is one), retries included: the SDK calls the signal
 * factory once per command and, given a factory, throws when it aborts (a plain AbortSignal would
 * make the command "succeed" with the abort reason as its value). Without it a silent Redis holds
 * a request for as long as fetch waits for headers (minutes in Node). One quick retry, on errors
 * other than the deadline (a refused or reset connection); the SDK's default is 5 with backoff up to 2.7 s.
 */
export function upstashKv(url: string, token: string, opts: { timeoutMs?: number; now?: () => number } = {}): Kv {
  const timeoutMs = opts.timeoutMs ?? REDIS_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  const redis = new Redis({
    url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
    retry: { retries: 1, backoff: () => 50 },
  });
  // After a command runs out of time, the next few seconds' commands fail at once instead of each
  // waiting out the deadline again: a request that can do without Redis (rate limit, usage and
  // failed-authentication counts) then pays for a silent Redis once, not three times per request.
  let silentUntil = 0;
  const wrap = <T>(run: () => Promise<T>): Promise<T> => {
    if (now() < silentUntil) return Promise.reject(new DependencyError("redis: not answering (a command timed out moments ago)"));
    return run().catch((err: unknown) => {
      if ((err as { name?: unknown } | null)?.name === "TimeoutError") silentUntil = now() + SILENT_BACKOFF_MS;
      throw new DependencyError(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
  };
  return {
    get: (key) => wrap(() => redis.get<string>(key)),
    async set(key, value, opts = {}) {
      const args = { ...(opts.ex ? { ex: opts.ex } : {}), ...(opts.nx ? { nx: true } : {}) } as { ex: number; nx: true };
      const res = await wrap(() => redis.set(key, value, args));
      return res === "OK";
    },
    async del(key) {
      await wrap(() => redis.del(key));
    },
    async incr(key, ttlSeconds, by = 1) {
      if (!ttlSeconds) return wrap(() => (by === 1 ? redis.incr(key) : redis.incrby(key, by)));
      const p = redis.pipeline();
      if (by === 1) p.incr(key);
      else p.incrby(key, by);
      p.expire(key, ttlSeconds, "NX");
      const [n] = await wrap(() => p.exec<[number, number]>());
      return n;
    },
    ttl: (key) => wrap(() => redis.ttl(key)),
    async rpush(key, values, ttlSeconds) {
      if (!values.length) return 0;
      const p = redis.pipeline();
      p.rpush(key, ...values);
      if (ttlSeconds) p.expire(key, ttlSeconds);
      const [n] = await wrap(() => p.exec<[number, number]>());
      return n;
    },
    lrange: (key, start, stop) => wrap(() => redis.lrange<string>(key, start, stop)),
    async hincrby(key, increments, ttlSeconds) {
      const fields = Object.keys(increments);
      if (!fields.length) return {};
      const p = redis.pipeline();
      for (const f of fields) p.hincrby(key, f, increments[f]!);
      if (ttlSeconds) p.expire(key, ttlSeconds, "NX");
      const res = await wrap(() => p.exec<number[]>());
      return Object.fromEntries(fields.map((f, i) => [f, Number(res[i])]));
    },
    async hgetall(key) {
      // Without automatic deserialization the SDK hands back Redis's flat [field, value, …] reply.
      const h = (await wrap(() => redis.hgetall(key))) as unknown;
      const pairs: [string, unknown][] = [];
      if (Array.isArray(h)) for (let i = 0; i + 1 < h.length; i += 2) pairs.push([String(h[i]), h[i + 1]]);
      else if (h && typeof h === "object") pairs.push(...Object.entries(h));
      return Object.fromEntries(pairs.map(([k, v]) => [k, Number(v)]));
    },
    async sadd(key, members, ttlSeconds) {
      if (!members.length) return;
      const p = redis.pipeline();
      p.sadd(key, members[0]!, ...members.slice(1));
      if (ttlSeconds) p.expire(key, ttlSeconds, "NX");
      await wrap(() => p.exec());
    },
    smembers: (key) => wrap(() => redis.smembers<string[]>(key)),
  };
}

/** In-process implementation for the embedded default (`npm start`, `npm test`). */
export function memoryKv(now: () => number = Date.now): Kv {
  const store = new Map<string, { value: string | string[] | Map<string, number> | Set<string>; expiresAt?: number }>();
  const live = (key: string) => {
    const e = store.get(key);
    if (e && e.expiresAt !== undefined && e.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    async get(key) {
      const e = live(key);
      return typeof e?.value === "string" ? e.value : null;
    },
    async set(key, value, opts = {}) {
      if (opts.nx && live(key)) return false;
      store.set(key, { value, expiresAt: opts.ex ? now() + opts.ex * 1000 : undefined });
      return true;
    },
    async del(key) {
      store.delete(key);
    },
    async incr(key, ttlSeconds, by = 1) {
      const e = live(key);
      const n = (e ? Number(e.value) : 0) + by;
      store.set(key, { value: String(n), expiresAt: e ? e.expiresAt : ttlSeconds ? now() + ttlSeconds * 1000 : undefined });
      return n;
    },
    async ttl(key) {
      const e = live(key);
      if (!e) return -2;
      return e.expiresAt === undefined ? -1 : Math.ceil((e.expiresAt - now()) / 1000);
    },
    async rpush(key, values, ttlSeconds) {
      const e = live(key);
      const list = Array.isArray(e?.value) ? e.value : [];
      list.push(...values);
      store.set(key, { value: list, expiresAt: ttlSeconds ? now() + ttlSeconds * 1000 : e?.expiresAt });
      return list.length;
    },
    async lrange(key, start, stop) {
      const e = live(key);
      const list = Array.isArray(e?.value) ? e.value : [];
      const end = stop < 0 ? list.length + stop + 1 : stop + 1;
      return list.slice(start < 0 ? Math.max(0, list.length + start) : start, end);
    },
    async hincrby(key, increments, ttlSeconds) {
      const e = live(key);
      const hash = e?.value instanceof Map ? e.value : new Map<string, number>();
      const out: Record<string, number> = {};
      for (const [f, by] of Object.entries(increments)) {
        hash.set(f, (hash.get(f) ?? 0) + by);
        out[f] = hash.get(f)!;
      }
      store.set(key, { value: hash, expiresAt: e ? e.expiresAt : ttlSeconds ? now() + ttlSeconds * 1000 : undefined });
      return out;
    },
    async hgetall(key) {
      const e = live(key);
      return e?.value instanceof Map ? Object.fromEntries(e.value) : {};
    },
    async sadd(key, members, ttlSeconds) {
      const e = live(key);
      const set = e?.value instanceof Set ? e.value : new Set<string>();
      for (const m of members) set.add(m);
      store.set(key, { value: set, expiresAt: e ? e.expiresAt : ttlSeconds ? now() + ttlSeconds * 1000 : undefined });
    },
    async smembers(key) {
      const e = live(key);
      return e?.value instanceof Set ? [...e.value] : [];
    },
  };
}
