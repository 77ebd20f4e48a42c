// API requests counted per workspace, UTC day and route template (`GET /v1/conversations/{id}`)
// in Redis, in the background like the rate limit, and the plan's daily request quota (429
// `rate_limit_exceeded`, `details.reason: "daily_quota"`). One Redis hash per workspace and day
// (`usage:<day>:<workspace>`: route → requests, `*` → the day's total) and one set of the day's
// workspaces; the usage job and GET /v1/account/usage persist them to api_usage_daily.
import { inArray, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import { apiUsageDaily } from "../schema/account";
import { workspaces } from "../schema/identity";
import type { Db } from "./db";
import type { AppEnv } from "./env";
import { ApiError, describeError } from "./errors";
import type { Kv } from "./kv";
import { MIN_REQUESTS_PER_DAY, planLimits } from "./plans";

/** Redis keeps a day's counters this long; the daily job persists them well before. */
export const USAGE_TTL = 8 * 86_400;
export const TOTAL_FIELD = "*";
const FAST_SHARE = 0.8;
const MAX_SEEN = 10_000;
const PLAN_TTL_MS = 60_000;

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const usageKey = (workspaceId: string, day: string) => `usage:${day}:${workspaceId}`;
export const usageWorkspacesKey = (day: string) => `usage:${day}:workspaces`;

/** `METHOD /v1/path/{param}` of the route that answers, or `METHOD (unmatched)`. */
export function routeTemplate(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== "ALL") return `${c.req.method} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`;
  }
  return `${c.req.method} (unmatched)`;
}

/** What this isolate knows of a workspace's day: the estimated total, and counts not yet sent. */
interface Seen {
  day: string;
  count: number;
  unsent: Map<string, number>;
  unsentTotal: number;
  sending: boolean;
  /** The day's workspace set has this workspace (sent once per isolate and day). */
  listed: boolean;
}
const seenByKv = new WeakMap<Kv, Map<string, Seen>>();

function learn(s: Seen, total: number) {
  s.count = Math.max(s.count, total + s.unsentTotal);
}

/** Sends what is unsent as one HINCRBY pipeline, then again while requests kept coming meanwhile. */
async function flush(kv: Kv, workspaceId: string, s: Seen): Promise<void> {
  s.sending = true;
  const increments: Record<string, number> = { [TOTAL_FIELD]: s.unsentTotal };
  for (const [route, n] of s.unsent) increments[route] = n;
  s.unsent = new Map();
  s.unsentTotal = 0;
  try {
    if (!s.listed) {
      await kv.sadd(usageWorkspacesKey(s.day), [workspaceId], USAGE_TTL);
      s.listed = true;
    }
    const res = await kv.hincrby(usageKey(workspaceId, s.day), increments, USAGE_TTL);
    learn(s, res[TOTAL_FIELD] ?? 0);
  } finally {
    s.sending = false;
  }
  if (s.unsentTotal > 0) return flush(kv, workspaceId, s);
}

/**
 * Counts one request of `workspaceId` on `route` and returns the day's total so far (this one
 * included). Far below `limit` nothing waits for Redis: the counts go in the background, one
 * pipeline at a time per workspace. The first request of a day in this isolate, and requests
 * near the limit, wait for Redis's total, so the quota holds exactly on one instance.
 */
export async function countUsage(kv: Kv, workspaceId: string, route: string, limit: number, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): Promise<number> {
  const day = dayOf(now);
  const seen = seenByKv.get(kv) ?? new Map<string, Seen>();
  seenByKv.set(kv, seen);
  let s = seen.get(workspaceId);
  const fresh = s?.day !== day;
  if (!s || fresh) {
    seen.delete(workspaceId);
    if (seen.size >= MAX_SEEN) seen.delete(seen.keys().next().value!);
    s = { day, count: 0, unsent: new Map(), unsentTotal: 0, sending: false, listed: false };
    seen.set(workspaceId, s);
  }
  s.count++;
  s.unsentTotal++;
  s.unsent.set(route, (s.unsent.get(route) ?? 0) + 1);
  if (!fresh && s.count <= Math.floor(limit * FAST_SHARE)) {
    if (!s.sending) waitUntil(flush(kv, workspaceId, s).catch((err) => console.warn(JSON.stringify({ msg: "usage not counted", error: describeError(err) }))));
    return s.count;
  }
  // Wait for Redis: for a flush already on its way, then for ours.
  while (s.sending) await new Promise((r) => setTimeout(r, 1));
  if (s.unsentTotal > 0) await flush(kv, workspaceId, s);
  return s.count;
}

/**
 * Waits until this isolate's counts of `workspaceId` are in Redis (a flush on its way, then what
 * is still unsent), so a usage report read right after includes the requests that came before it.
 * A Redis failure here is the caller's to answer.
 */
export async function settleUsage(kv: Kv, workspaceId: string): Promise<void> {
  const s = seenByKv.get(kv)?.get(workspaceId);
  if (!s) return;
  while (s.sending) await new Promise((r) => setTimeout(r, 1));
  if (s.unsentTotal > 0) await flush(kv, workspaceId, s);
}

/** Today's requests as Redis has them, plus what this isolate has not sent yet. */
export async function requestsToday(kv: Kv, workspaceId: string, now = Date.now()): Promise<number> {
  const day = dayOf(now);
  const h = await kv.hgetall(usageKey(workspaceId, day));
  const s = seenByKv.get(kv)?.get(workspaceId);
  const local = s?.day === day ? s.unsentTotal : 0;
  return Math.max(h[TOTAL_FIELD] ?? 0, s?.day === day ? s.count : 0, (h[TOTAL_FIELD] ?? 0) + local);
}

const planCache = new Map<string, { limit: number; until: number }>();

/** The workspace's daily request limit (its plan's), cached for a minute per isolate. */
export async function dailyLimit(db: Db, workspaceId: string): Promise<number> {
  const hit = planCache.get(workspaceId);
  if (hit && hit.until > Date.now()) return hit.limit;
  const [row] = await db.select({ plan: workspaces.plan }).from(workspaces).where(sql`${workspaces.id} = ${workspaceId}`);
  const limit = planLimits(row?.plan).requestsPerDay;
  if (planCache.size >= MAX_SEEN) planCache.delete(planCache.keys().next().value!);
  planCache.set(workspaceId, { limit, until: Date.now() + PLAN_TTL_MS });
  return limit;
}

/** Seconds since the epoch of the next UTC midnight (when the daily quota resets). */
export const nextUtcMidnight = (now = Date.now()) => Math.floor(now / 86_400_000 + 1) * 86_400;

/** Paths whose requests are counted but never refused by the quota: a workspace over it can still see why. */
const QUOTA_EXEMPT = /^\/v1\/account(\/|$)/;

/**
 * Counts every authenticated /v1 request and enforces the plan's daily quota. REQUEST_QUOTA=off
 * (benchmarks) still counts but does not refuse. A Redis failure is logged and lets the request through.
 */
export const usage = createMiddleware<AppEnv>(async (c, next) => {
  const p = c.get("principal");
  if (!p || !c.req.path.startsWith("/v1/")) return next();
  const { kv, db, waitUntil } = c.var.services;
  const route = routeTemplate(c);
  const enforce = c.env?.REQUEST_QUOTA !== "off" && !QUOTA_EXEMPT.test(c.req.path);
  let count: number;
  let limit = planCache.get(p.workspaceId)?.limit ?? MIN_REQUESTS_PER_DAY;
  try {
    count = await countUsage(kv, p.workspaceId, route, limit, waitUntil);
    // Near the smallest plan's limit the workspace's own plan decides.
    if (enforce && count > Math.floor(MIN_REQUESTS_PER_DAY * FAST_SHARE)) limit = await dailyLimit(db, p.workspaceId);
  } catch (err) {
    console.warn(JSON.stringify({ msg: "usage unavailable", request_id: c.get("requestId"), error: describeError(err) }));
    return next();
  }
  if (enforce && count > limit) {
    const reset = nextUtcMidnight();
    throw new ApiError("rate_limit_exceeded", `Daily request quota of ${limit} requests exceeded; it resets at midnight UTC. GET /v1/account shows the workspace's usage and plan.`, {
      details: { reason: "daily_quota", limit, requests_today: count, resets_at: new Date(reset * 1000).toISOString() },
      headers: {
        "Retry-After": String(Math.max(1, reset - Math.floor(Date.now() / 1000))),
        "X-RateLimit-Limit": String(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": String(reset),
      },
    });
  }
  return next();
});

/** Copies Redis's counters of `workspaceIds` (default: every workspace seen that day) on `day` to api_usage_daily. */
export async function persistUsage(db: Db, kv: Kv, day: string, workspaceIds?: string[]): Promise<number> {
  const listed = workspaceIds ?? (await kv.smembers(usageWorkspacesKey(day)));
  if (!listed.length) return 0;
  // Workspaces deleted since have nothing to keep (and would break the foreign key).
  const live = await db.select({ id: workspaces.id }).from(workspaces).where(inArray(workspaces.id, listed));
  let rows = 0;
  for (const { id: ws } of live) {
    const counts = await kv.hgetall(usageKey(ws, day));
    const values = Object.entries(counts).map(([route, requests]) => ({ workspaceId: ws, day, route, requests }));
    if (!values.length) continue;
    // Redis only ever counts up: the larger number is the newer one, so a rerun changes nothing.
    await db
      .insert(apiUsageDaily)
      .values(values)
      .onConflictDoUpdate({
        target: [apiUsageDaily.workspaceId, apiUsageDaily.day, apiUsageDaily.route],
        set: { requests: sql`greatest(${apiUsageDaily.requests}, excluded.requests)`, updatedAt: new Date() },
      });
    rows += values.length;
  }
  return rows;
}
