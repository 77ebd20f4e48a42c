// Fixed-window rate limit per credential (per client address when anonymous), counted in
// Redis, with the contract's X-RateLimit-* headers on every /v1 answer.
import { createMiddleware } from "hono/factory";
import { ApiError, describeError } from "./errors";
import type { AppEnv, Env } from "./env";
import type { Kv } from "./kv";

const WINDOW = 60;

/**
 * Who an anonymous caller is, for rate limits and idempotency scopes. The local server hands over
 * the socket's address (PARLEY_CLIENT_ADDRESS), so a client cannot pick a fresh identity per request
 * with a header; on Workers, Cloudflare sets CF-Connecting-IP itself. X-Forwarded-For counts only
 * where neither is there (requests dispatched in-process, as tests do).
 */
export function clientAddress(header: (name: string) => string | undefined, env?: Pick<Env, "PARLEY_CLIENT_ADDRESS">): string {
  return env?.PARLEY_CLIENT_ADDRESS ?? header("cf-connecting-ip") ?? header("x-forwarded-for")?.split(",")[0]?.trim() ?? "local";
}

/**
 * What this isolate knows of each caller's current window: its best estimate of the total
 * (the highest total Redis has answered plus what it let through since), the requests not
 * yet sent to Redis, and whether an increment is on its way.
 */
interface Seen {
  window: number;
  count: number;
  unsent: number;
  sending: boolean;
}
/** Per Redis client: one per isolate in production, one per test harness in tests. */
const seenByKv = new WeakMap<Kv, Map<string, Seen>>();
const MAX_SEEN = 10_000;
/** Below this share of the limit a request is counted in the background, not waited for. */
const FAST_SHARE = 0.8;
const TTL = WINDOW + 5;

/** Redis answered `n` (the window's total): the estimate is at least that plus what is still unsent. */
function learn(s: Seen, n: number): number {
  s.count = Math.max(s.count, n + s.unsent);
  return n;
}

/** Sends what is unsent as one INCRBY, then again while requests kept coming meanwhile. */
function flush(kv: Kv, key: string, s: Seen): Promise<void> {
  s.sending = true;
  const by = s.unsent;
  s.unsent = 0;
  return kv.incr(key, TTL, by).then(
    (n) => {
      learn(s, n);
      s.sending = false;
      if (s.unsent > 0) return flush(kv, key, s);
    },
    (err) => {
      s.sending = false;
      console.warn(JSON.stringify({ msg: "rate limit not counted", error: describeError(err) }));
    },
  );
}

/**
 * Counts one request of `who` in this window. Far from the limit (the estimate plus one below
 * FAST_SHARE of it) nothing waits for Redis: the request is added to the estimate and sent in
 * the background, one INCRBY at a time per caller, so a burst costs a few Redis commands,
 * not one per request. Near the limit, or when this isolate knows nothing of the caller yet,
 * it waits, so the 429 comes exactly at the limit for a caller on one instance. Across many
 * instances the limit can be overshot by the requests each lets through in one Redis round trip.
 */
export async function countRequest(kv: Kv, who: string, limit: number, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): Promise<number> {
  const window = Math.floor(now / 1000 / WINDOW);
  const key = `rl:${who}:${window}`;
  const seen = seenByKv.get(kv) ?? new Map<string, Seen>();
  seenByKv.set(kv, seen);
  let s = seen.get(who);
  if (s?.window !== window) {
    // First sight of this caller in this window: ask Redis. (Re-inserted, so the oldest callers go first.)
    seen.delete(who);
    if (seen.size >= MAX_SEEN) seen.delete(seen.keys().next().value!);
    s = { window, count: 0, unsent: 0, sending: false };
    seen.set(who, s);
    return learn(s, await kv.incr(key, TTL));
  }
  if (s.count + 1 <= Math.floor(limit * FAST_SHARE)) {
    s.count++;
    s.unsent++;
    if (!s.sending) waitUntil(flush(kv, key, s));
    return s.count;
  }
  // Near the limit: this request and any unsent ones, and wait for Redis's total.
  const by = 1 + s.unsent;
  s.unsent = 0;
  return learn(s, await kv.incr(key, TTL, by));
}

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.req.path.startsWith("/v1/")) return next();
  const { kv, config, waitUntil } = c.var.services;
  const limit = config.rateLimitPerMinute;
  const p = c.get("principal");
  const who = p ? (p.apiKeyId ?? p.agentId ?? p.workspaceId) : `ip:${clientAddress((n) => c.req.header(n), c.env)}`;
  const reset = (Math.floor(Date.now() / 1000 / WINDOW) + 1) * WINDOW;
  let count: number;
  try {
    count = await countRequest(kv, who, limit, waitUntil);
  } catch (err) {
    // Rate limiting fails open: a Redis outage must not take the whole API down with it.
    console.warn(JSON.stringify({ msg: "rate limit unavailable", request_id: c.get("requestId"), error: describeError(err) }));
    return next();
  }
  const headers = {
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": String(Math.max(0, limit - count)),
    "X-RateLimit-Reset": String(reset),
  };
  if (count > limit) {
    throw new ApiError("rate_limit_exceeded", `Rate limit of ${limit} requests a minute exceeded.`, {
      headers: { ...headers, "Retry-After": String(Math.max(1, reset - Math.floor(Date.now() / 1000))) },
    });
  }
  await next();
  // A daily-quota 429 (lib/usage.ts) carries its own X-RateLimit-* (the day's limit): keep those.
  if (c.res.status === 429) return;
  for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
});
