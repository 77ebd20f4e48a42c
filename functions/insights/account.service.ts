// The account's plan and usage: storage from the files table, API requests from Redis's live
// counters (today, and days not yet persisted) merged with api_usage_daily, conversations by
// source, AI tokens by model from llm_usage. The one place this SQL lives.
import { and, eq, gte, isNull, lte, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { notFound } from "../../lib/errors";
import type { Kv } from "../../lib/kv";
import { BYTES_PER_MB, planLimits } from "../../lib/plans";
import { dayOf, nextUtcMidnight, persistUsage, requestsToday, settleUsage, TOTAL_FIELD, USAGE_TTL, usageKey } from "../../lib/usage";
import { apiUsageDaily, conversations, files, llmUsage, workspaces } from "../../schema";

const mb = (bytes: number) => Math.round((bytes / BYTES_PER_MB) * 100) / 100;

export async function account(db: Db, kv: Kv, workspaceId: string) {
  const [[ws], [stored], today] = await Promise.all([
    db.select().from(workspaces).where(eq(workspaces.id, workspaceId)),
    db
      .select({ bytes: sql<string>`coalesce(sum(${files.size}), 0)::bigint`, n: sql<number>`count(*)::int` })
      .from(files)
      .where(and(eq(files.workspaceId, workspaceId), isNull(files.deletedAt))),
    requestsToday(kv, workspaceId),
  ]);
  if (!ws) throw notFound("workspace");
  const limits = planLimits(ws.plan);
  const bytes = Number(stored?.bytes ?? 0);
  const reset = nextUtcMidnight();
  return {
    workspace: { id: ws.id, name: ws.name, created_at: ws.createdAt.toISOString() },
    plan: ws.plan,
    storage: { used_mb: mb(bytes), limit_mb: limits.storageMb, used_bytes: bytes, files: Number(stored?.n ?? 0) },
    api_usage: {
      requests_today: today,
      limit_per_day: limits.requestsPerDay,
      remaining_today: Math.max(0, limits.requestsPerDay - today),
      resets_at: new Date(reset * 1000).toISOString(),
    },
  };
}

/** Each UTC day from `from` to `to` (YYYY-MM-DD, inclusive). */
function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(dayOf(t));
  return out;
}

/**
 * Requests per day and route in [from, to]: api_usage_daily, and for the days Redis still holds,
 * Redis's counters (the larger of the two wins: Redis only counts up). What came from Redis is
 * returned as `fresh` so the caller can persist it.
 */
async function requestsByDay(db: Db, kv: Kv, workspaceId: string, from: string, to: string) {
  const stored = await db
    .select({ day: apiUsageDaily.day, route: apiUsageDaily.route, requests: apiUsageDaily.requests })
    .from(apiUsageDaily)
    .where(and(eq(apiUsageDaily.workspaceId, workspaceId), gte(apiUsageDaily.day, from), lte(apiUsageDaily.day, to)));
  const counts = new Map<string, Map<string, number>>();
  const put = (day: string, route: string, n: number) => {
    const d = counts.get(day) ?? new Map<string, number>();
    d.set(route, Math.max(d.get(route) ?? 0, n));
    counts.set(day, d);
  };
  for (const r of stored) put(r.day, r.route, r.requests);
  const oldest = dayOf(Date.now() - USAGE_TTL * 1000);
  const live = daysBetween(from < oldest ? oldest : from, to).filter((d) => d <= dayOf(Date.now()));
  await settleUsage(kv, workspaceId);
  const fromRedis = await Promise.all(live.map(async (day) => [day, await kv.hgetall(usageKey(workspaceId, day))] as const));
  const fresh: string[] = [];
  for (const [day, h] of fromRedis) {
    if (!Object.keys(h).length) continue;
    fresh.push(day);
    for (const [route, n] of Object.entries(h)) put(day, route, n);
  }
  return { counts, fresh };
}

export async function usageReport(db: Db, kv: Kv, workspaceId: string, from: string, to: string, waitUntil: (p: Promise<unknown>) => void) {
  const start = new Date(`${from}T00:00:00Z`);
  const end = new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000);
  const [bySource, byKind, tokens, requests] = await Promise.all([
    db
      .select({ source: conversations.source, n: sql<number>`count(*)::int` })
      .from(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), gte(conversations.createdAt, start), sql`${conversations.createdAt} < ${end.toISOString()}::timestamptz`))
      .groupBy(conversations.source),
    db
      .select({ kind: files.kind, n: sql<number>`count(*)::int`, bytes: sql<string>`coalesce(sum(${files.size}), 0)::bigint` })
      .from(files)
      .where(and(eq(files.workspaceId, workspaceId), isNull(files.deletedAt)))
      .groupBy(files.kind),
    db
      .select({
        model: llmUsage.model,
        prompt: sql<string>`sum(${llmUsage.promptTokens})::bigint`,
        completion: sql<string>`sum(${llmUsage.completionTokens})::bigint`,
        calls: sql<string>`sum(${llmUsage.requests})::bigint`,
      })
      .from(llmUsage)
      .where(and(eq(llmUsage.workspaceId, workspaceId), gte(llmUsage.day, from), lte(llmUsage.day, to)))
      .groupBy(llmUsage.model),
    requestsByDay(db, kv, workspaceId, from, to),
  ]);
  // Persisted on read too: what Redis holds for these days reaches Postgres without waiting for the daily job.
  if (requests.fresh.length) {
    waitUntil(Promise.all(requests.fresh.map((day) => persistUsage(db, kv, day, [workspaceId]))));
  }

  const byEndpoint = new Map<string, number>();
  const series: Array<{ date: string; requests: number }> = [];
  for (const day of daysBetween(from, to)) {
    const d = requests.counts.get(day);
    let total = d?.get(TOTAL_FIELD) ?? 0;
    let routes = 0;
    for (const [route, n] of d ?? []) {
      if (route === TOTAL_FIELD) continue;
      byEndpoint.set(route, (byEndpoint.get(route) ?? 0) + n);
      routes += n;
    }
    total = Math.max(total, routes);
    series.push({ date: day, requests: total });
  }
  const sources = Object.fromEntries(bySource.map((r) => [r.source, Number(r.n)]));
  const kinds = byKind.map((r) => ({ type: r.kind, files: Number(r.n), bytes: Number(r.bytes), mb: mb(Number(r.bytes)) }));
  const models = tokens
    .map((r) => ({ model: r.model, prompt_tokens: Number(r.prompt), completion_tokens: Number(r.completion), total_tokens: Number(r.prompt) + Number(r.completion), requests: Number(r.calls) }))
    .sort((a, b) => b.total_tokens - a.total_tokens || a.model.localeCompare(b.model));
  const endpoints = [...byEndpoint].map(([endpoint, n]) => ({ endpoint, requests: n })).sort((a, b) => b.requests - a.requests || a.endpoint.localeCompare(b.endpoint));
  return {
    period: { from, to },
    conversations: { total: bySource.reduce((n, r) => n + Number(r.n), 0), by_source: sources },
    storage: { used_mb: mb(kinds.reduce((n, k) => n + k.bytes, 0)), by_type: kinds },
    api_requests: { total: series.reduce((n, d) => n + d.requests, 0), by_endpoint: endpoints, by_day: series },
    ai_tokens: {
      total: models.reduce((n, m) => n + m.total_tokens, 0),
      by_model: models,
    },
  };
}
