// /v1/analytics: a workspace's conversation figures over a period of days in its time zone, in
// three statements run at once: conversations created, messages written and conversations
// resolved per day, breakdowns of the period's conversations, response and resolution times,
// sentiment from summaries, and the previous period of the same length for comparison. The counts
// come from the rollups the write triggers keep (migration 0024), the percentiles from the rows.
import { eq, type SQL, sql } from "drizzle-orm";
import { type Db, rowsOf } from "../../lib/db";
import { dataException } from "../../lib/errors";
import { analyticsZones } from "../../schema/analytics";
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from "../../schema/conversations";
import { workspaces } from "../../schema/identity";

export const SENTIMENTS = ["positive", "neutral", "negative", "mixed"] as const;
/** Statuses that count as "open" (not yet done). */
export const OPEN_STATUSES = ["open", "pending", "snoozed"] as const;
export const MAX_DAYS = 366;
export const DEFAULT_DAYS = 30;
const TOP_TAGS = 50;

export interface AnalyticsQuery {
  days?: number;
  from?: string;
  to?: string;
  channel_id?: string;
  agent_id?: string;
}

export interface Period {
  from: string;
  to: string;
  days: number;
  timezone: string;
}

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;

/** Today's date (YYYY-MM-DD) in `tz`; null when the zone is unknown here. */
function todayIn(tz: string, now: Date): string | null {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  } catch {
    return null;
  }
}

/**
 * The workspace's IANA time zone (settings.timezone, UTC when none is set) and the zone its
 * rollup days are counted in (analytics_zones; UTC without a row), in one round trip.
 */
export async function workspaceTimeZone(db: Db, workspaceId: string): Promise<{ timezone: string; rollupZone: string }> {
  const [w] = await db
    .select({ settings: workspaces.settings, rollupZone: analyticsZones.timezone })
    .from(workspaces)
    .leftJoin(analyticsZones, eq(analyticsZones.workspaceId, workspaces.id))
    .where(eq(workspaces.id, workspaceId))
    .limit(1);
  const tz = w?.settings?.timezone;
  return { timezone: typeof tz === "string" && tz ? tz : "UTC", rollupZone: w?.rollupZone ?? "UTC" };
}

/**
 * The period asked for, in days of `tz`: `from`..`to` inclusive, or the `days` (default 30)
 * ending on `to` (default today). Problems are returned by parameter (the route answers 400).
 */
export function resolvePeriod(q: AnalyticsQuery, tz: string, now = new Date()): { period: Period } | { problems: Record<string, string[]> } {
  const problems: Record<string, string[]> = {};
  if (q.days !== undefined && q.from !== undefined) problems.days = ["Give either days or from (with an optional to), not both."];
  let timezone = tz;
  let today = todayIn(tz, now);
  if (!today) {
    timezone = "UTC";
    today = todayIn("UTC", now)!;
  }
  const to = q.to ?? today;
  const from = q.from ?? addDays(to, -((q.days ?? DEFAULT_DAYS) - 1));
  const days = daysBetween(from, to);
  if (days < 1) problems.from = ["Must not be after to."];
  else if (days > MAX_DAYS) problems.from = [`The period is at most ${MAX_DAYS} days.`];
  if (Object.keys(problems).length) return { problems };
  return { period: { from, to, days, timezone } };
}

/** json comes back parsed (Neon, PGlite) or as text (some drivers). */
function parsed<T>(v: T | string | null | undefined): T | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? (JSON.parse(v) as T) : v;
}

/** float8[] as an array (Neon, PGlite) or as `{1,2}` text. */
function floats(v: number[] | string | null): Array<number | null> {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => (x === null ? null : Number(x)));
  return v
    .replace(/^\{|\}$/g, "")
    .split(",")
    .map((x) => (x === "NULL" || x === "" ? null : Number(x)));
}

const seconds = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v));

function fill<K extends string>(keys: readonly K[], got: Map<string | null, number>): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, got.get(k) ?? 0])) as Record<K, number>;
}

interface Group {
  dim: "status" | "day" | "source" | "channel" | "agent" | "sentiment" | "total";
  cur: boolean | null;
  key: string | null;
  n: number;
}

interface Row {
  conv: Group[] | string | null;
  res: Group[] | string | null;
  msg: Array<{ k: number; n: number }> | string | null;
  by_tag: Array<{ tag: string; conversations: number }> | string | null;
  agent_names: Record<string, string> | string | null;
  channel_info: Record<string, { name: string; type: string }> | string | null;
  frt: number[] | string | null;
  frt_n: number;
  rt: number[] | string | null;
  p_conversations: number;
  p_open: number;
  p_resolved: number;
  p_messages: number;
}

/**
 * From the rows themselves (the path before the rollups, kept for workspaces whose rollup days are
 * not in the zone reported, and as the reference the rollups are tested against).
 * One statement: the period's conversations (index range on created_at) and those resolved in it
 * (on resolved_at) read once each, every row given its day by a binary search of the days'
 * boundary instants in the workspace's zone (width_bucket), every breakdown computed by one
 * GROUPING SETS aggregate; messages per day from the (workspace_id, created_at) index alone; the
 * previous period's totals as index-only counts. Three statements, run at once.
 */
function rawStatements(ws: string, tz: string, p: Period, f: Pick<AnalyticsQuery, "channel_id" | "agent_id">): SQL[] {
  const filters = sql.join(
    [f.channel_id ? sql` and c.channel_id = ${f.channel_id}` : sql``, f.agent_id ? sql` and c.assignee_id = ${f.agent_id}` : sql``],
    sql``,
  );
  const filtered = Boolean(f.channel_id || f.agent_id);
  const n = sql`${p.days}::int`;
  // The instants where the previous period, the period, and the day after it begin, in tz.
  const ps = sql`((${p.from}::date - ${n})::timestamp at time zone ${tz})`;
  const s = sql`(${p.from}::date::timestamp at time zone ${tz})`;
  const e = sql`((${p.to}::date + 1)::timestamp at time zone ${tz})`;
  const bounds = sql`(select t from b)`;
  const messages = (lo: SQL, hi: SQL) =>
    filtered
      ? sql`from messages m join conversations c on c.id = m.conversation_id and c.workspace_id = ${ws}${filters} where m.workspace_id = ${ws} and m.created_at >= ${lo} and m.created_at < ${hi}`
      : sql`from messages m where m.workspace_id = ${ws} and m.created_at >= ${lo} and m.created_at < ${hi}`;
  const label = (cols: string[]) =>
    sql.raw(`case ${cols.map((c) => `when grouping(${c.split(":")[0]}) = 0 then '${c.split(":")[1]}'`).join(" ")} else 'total' end`);
  const open = sql.raw(OPEN_STATUSES.map((x) => `'${x}'`).join(", "));
  const days = sql`b as materialized (
      select array_agg(((${p.from}::date + i)::timestamp at time zone ${tz}) order by i) as t from generate_series(0, ${n}) i
    )`;
  const main = sql`
    with ${days},
    conv as materialized (
      select width_bucket(c.created_at, ${bounds}) as k, c.id, c.status, c.source, c.channel_id, c.assignee_id,
             c.sentiment, extract(epoch from c.first_response_at - c.created_at)::float8 as frt
      from conversations c
      where c.workspace_id = ${ws} and c.created_at >= ${s} and c.created_at < ${e}${filters}
    ),
    res as materialized (
      select width_bucket(c.resolved_at, ${bounds}) as k, c.assignee_id, extract(epoch from c.resolved_at - c.created_at)::float8 as rt
      from conversations c
      where c.workspace_id = ${ws} and c.resolved_at >= ${s} and c.resolved_at < ${e}${filters}
    ),
    cg as (
      select ${label(["status:status", "k:day", "source:source", "channel_id:channel", "assignee_id:agent", "sentiment:sentiment"])} as dim,
             true as cur, coalesce(status, k::text, source, channel_id, assignee_id, sentiment) as key, count(*)::int as n
      from conv
      group by grouping sets ((status), (k), (source), (channel_id), (assignee_id), (sentiment))
    ),
    rg as (
      select ${label(["k:day", "assignee_id:agent"])} as dim, true as cur, coalesce(k::text, assignee_id) as key, count(*)::int as n
      from res
      group by grouping sets ((), (k), (assignee_id))
    )
    select
      (select json_agg(cg) from cg) as conv,
      (select json_agg(rg) from rg) as res,
      (select json_agg(json_build_object('tag', t.name, 'conversations', x.n) order by x.n desc, t.name)
         from (select ct.tag_id, count(*)::int as n from conv join conversation_tags ct on ct.conversation_id = conv.id
               group by ct.tag_id order by n desc, ct.tag_id limit ${TOP_TAGS}) x
         join tags t on t.id = x.tag_id and t.workspace_id = ${ws}) as by_tag,
      (select json_object_agg(a.id, a.name) from agents a where a.workspace_id = ${ws}) as agent_names,
      (select json_object_agg(ch.id, json_build_object('name', ch.name, 'type', ch.type)) from channels ch where ch.workspace_id = ${ws}) as channel_info,
      (select percentile_cont(array[0.5, 0.9]) within group (order by frt) from conv where frt is not null) as frt,
      (select count(*) from conv where frt is not null)::int as frt_n,
      (select percentile_cont(array[0.5, 0.9]) within group (order by rt) from res) as rt
  `;
  // Messages per day (the bulk of the rows read) and the previous period's counts run beside it.
  const perDay = sql`with ${days}, mg as (select width_bucket(m.created_at, ${bounds}) as k, count(*)::int as n ${messages(s, e)} group by 1)
    select (select json_agg(mg) from mg) as msg`;
  const previous = sql`
    select
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.created_at >= ${ps} and c.created_at < ${s}${filters})::int as p_conversations,
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.created_at >= ${ps} and c.created_at < ${s}${filters} and c.status in (${open}))::int as p_open,
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.resolved_at >= ${ps} and c.resolved_at < ${s}${filters})::int as p_resolved,
      (select count(*) ${messages(ps, s)})::int as p_messages
  `;
  return [main, perDay, previous];
}

/**
 * From the rollups (analytics_daily, analytics_daily_tags: migration 0024), whose days are the
 * zone's days: every count of the period and of the previous one is a sum over
 * days × channels × assignees rows, shaped as the raw statement's groups so that both answers are
 * assembled by the same code. The percentiles cannot be summed: they come exactly from the
 * durations of the period's conversations, read from the covering indexes alone (two statements
 * beside the first, run at once).
 */
function rollupStatements(ws: string, tz: string, p: Period, f: Pick<AnalyticsQuery, "channel_id" | "agent_id">): SQL[] {
  const keep = (col: string) => sql.join(
    [f.channel_id ? sql` and ${sql.raw(col)}channel_id = ${f.channel_id}` : sql``, f.agent_id ? sql` and ${sql.raw(col)}assignee_id = ${f.agent_id}` : sql``],
    sql``,
  );
  const n = sql`${p.days}::int`;
  const from = sql`${p.from}::date`;
  const to = sql`${p.to}::date`;
  const s = sql`(${p.from}::date::timestamp at time zone ${tz})`;
  const e = sql`((${p.to}::date + 1)::timestamp at time zone ${tz})`;
  const statuses = sql.raw(CONVERSATION_STATUSES.map((x) => `('${x}', status_${x})`).join(", "));
  const other = sql.raw(`conversations - ${CONVERSATION_STATUSES.map((x) => `status_${x}`).join(" - ")}`);
  const sources = sql.raw(CONVERSATION_SOURCES.map((x) => `('${x}', source_${x})`).join(", "));
  const sentiments = sql.raw([...SENTIMENTS.map((x) => `('${x}', sentiment_${x})`), "(null, sentiment_none)"].join(", "));
  const open = sql.raw(OPEN_STATUSES.map((x) => `status_${x}`).join(" + "));
  const main = sql`
    with r as materialized (
      select (d.day - ${from} + 1) as k, d.*
      from analytics_daily d
      where d.workspace_id = ${ws} and d.day >= ${from} - ${n} and d.day <= ${to}${keep("d.")}
    ),
    cur as (select * from r where k >= 1),
    cg as (
      select 'status' as dim, true as cur, x.key, sum(x.n)::int as n from cur, lateral (values ${statuses}, ('other', ${other})) x(key, n) group by x.key
      union all select 'source', true, x.key, sum(x.n)::int from cur, lateral (values ${sources}) x(key, n) group by x.key
      union all select 'sentiment', true, x.key, sum(x.n)::int from cur, lateral (values ${sentiments}) x(key, n) group by x.key
      union all select 'day', true, k::text, sum(conversations)::int from cur group by k
      union all select 'channel', true, nullif(channel_id, ''), sum(conversations)::int from cur group by channel_id
      union all select 'agent', true, nullif(assignee_id, ''), sum(conversations)::int from cur group by assignee_id
    ),
    rg as (
      select 'total' as dim, true as cur, null as key, coalesce(sum(resolved), 0)::int as n from cur
      union all select 'day', true, k::text, sum(resolved)::int from cur group by k
      union all select 'agent', true, nullif(assignee_id, ''), sum(resolved)::int from cur group by assignee_id
    )
    select
      (select json_agg(cg) from cg where n <> 0) as conv,
      (select json_agg(rg) from rg where n <> 0) as res,
      (select json_agg(json_build_object('k', k, 'n', n)) from (select k, sum(messages)::int as n from cur group by k) x where n <> 0) as msg,
      (select json_agg(json_build_object('tag', t.name, 'conversations', x.n) order by x.n desc, t.name)
         from (select tag_id, sum(conversations)::int as n from analytics_daily_tags d
               where d.workspace_id = ${ws} and d.day >= ${from} and d.day <= ${to}${keep("d.")}
               group by tag_id having sum(conversations) > 0 order by n desc, tag_id limit ${TOP_TAGS}) x
         join tags t on t.id = x.tag_id and t.workspace_id = ${ws}) as by_tag,
      (select json_object_agg(a.id, a.name) from agents a where a.workspace_id = ${ws}) as agent_names,
      (select json_object_agg(ch.id, json_build_object('name', ch.name, 'type', ch.type)) from channels ch where ch.workspace_id = ${ws}) as channel_info,
      (select coalesce(sum(conversations), 0) from r where k < 1)::int as p_conversations,
      (select coalesce(sum(${open}), 0) from r where k < 1)::int as p_open,
      (select coalesce(sum(resolved), 0) from r where k < 1)::int as p_resolved,
      (select coalesce(sum(messages), 0) from r where k < 1)::int as p_messages
  `;
  const frt = sql`
    select percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from c.first_response_at - c.created_at)::float8) as frt, count(*)::int as frt_n
    from conversations c
    where c.workspace_id = ${ws} and c.created_at >= ${s} and c.created_at < ${e} and c.first_response_at is not null${keep("c.")}`;
  const rt = sql`
    select percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from c.resolved_at - c.created_at)::float8) as rt
    from conversations c
    where c.workspace_id = ${ws} and c.resolved_at >= ${s} and c.resolved_at < ${e}${keep("c.")}`;
  return [main, frt, rt];
}

const byCountThenId = <T extends { id: string | null; n: number }>(a: T, b: T) =>
  b.n - a.n || (a.id === null ? 1 : b.id === null ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The figures of `period`. From the rollups when their days are the period's zone
 * (`rollupZone`, from workspaceTimeZone), else from the rows; `rollupZone: null` forces the rows.
 */
export async function analytics(db: Db, workspaceId: string, period: Period, f: Pick<AnalyticsQuery, "channel_id" | "agent_id">, rollupZone: string | null) {
  // Three independent statements at once (each its own round trip and, on a Pool, its own
  // connection and database core): latency is the slowest of them, not their sum.
  const run = async (zone: string) => {
    const statements = rollupZone === zone ? rollupStatements : rawStatements;
    const rows = await Promise.all(statements(workspaceId, zone, period, f).map(async (q) => rowsOf<Partial<Row>>(await db.execute(q))[0] ?? {}));
    return Object.assign({}, ...rows) as Row;
  };
  let tz = period.timezone;
  let r: Row;
  try {
    r = await run(tz);
  } catch (err) {
    // A zone the database does not know (its tz data older than the runtime's): report in UTC.
    if (!dataException(err) || tz === "UTC") throw err;
    tz = "UTC";
    r = await run(tz);
  }
  const n = period.days;
  const conv = parsed(r.conv) ?? [];
  const res = parsed(r.res) ?? [];
  const msg = parsed(r.msg) ?? [];
  const names = parsed(r.agent_names) ?? {};
  const chans = parsed(r.channel_info) ?? {};
  const pick = (groups: Group[], dim: Group["dim"], cur: boolean | null) => {
    const m = new Map<string | null, number>();
    for (const g of groups) if (g.dim === dim && (cur === null || g.cur === cur)) m.set(g.key, (m.get(g.key) ?? 0) + Number(g.n));
    return m;
  };
  const sum = (m: Map<string | null, number>, keys?: readonly string[]) => [...m].reduce((acc, [k, v]) => acc + (!keys || (k !== null && keys.includes(k)) ? v : 0), 0);
  const statusNow = pick(conv, "status", true);
  const convDays = pick(conv, "day", null);
  const resDays = pick(res, "day", null);
  const msgDays = new Map(msg.map((m) => [Number(m.k), Number(m.n)]));
  const resolvedTotal = (cur: boolean) => sum(pick(res, "total", cur));
  const messagesIn = (lo: number, hi: number) => [...msgDays].reduce((acc, [k, v]) => acc + (k >= lo && k <= hi ? v : 0), 0);

  const series = Array.from({ length: n }, (_, i) => {
    const k = String(i + 1);
    return { date: addDays(period.from, i), conversations: convDays.get(k) ?? 0, messages: msgDays.get(i + 1) ?? 0, resolved: resDays.get(k) ?? 0 };
  });
  const byChannel = [...pick(conv, "channel", true)]
    .map(([id, count]) => ({ id, n: count }))
    .sort(byCountThenId)
    .map(({ id, n: count }) => ({ channel_id: id, name: id ? (chans[id]?.name ?? null) : null, type: id ? (chans[id]?.type ?? null) : null, conversations: count }));
  const agentConv = pick(conv, "agent", true);
  const agentRes = pick(res, "agent", true);
  const byAgent = [...new Set([...agentConv.keys(), ...agentRes.keys()])]
    .map((id) => ({ id, n: agentConv.get(id) ?? 0, resolved: agentRes.get(id) ?? 0 }))
    .sort((a, b) => b.n - a.n || b.resolved - a.resolved || byCountThenId(a, b))
    .map((a) => ({ agent_id: a.id, name: a.id ? (names[a.id] ?? null) : null, conversations: a.n, resolved: a.resolved }));
  const sentiment = pick(conv, "sentiment", true);
  const [frtMedian, frtP90] = floats(r.frt);
  const [rtMedian, rtP90] = floats(r.rt);
  return {
    period: { from: period.from, to: period.to, days: n, timezone: tz },
    totals: { conversations: sum(statusNow), messages: messagesIn(1, n), resolved: resolvedTotal(true), open: sum(statusNow, OPEN_STATUSES) },
    series,
    by_channel: byChannel,
    by_source: fill(CONVERSATION_SOURCES, pick(conv, "source", true)),
    by_status: fill(CONVERSATION_STATUSES, statusNow),
    by_tag: parsed(r.by_tag) ?? [],
    by_agent: byAgent,
    first_response_time: { median_seconds: seconds(frtMedian), p90_seconds: seconds(frtP90), conversations: Number(r.frt_n) },
    resolution_time: { median_seconds: seconds(rtMedian), p90_seconds: seconds(rtP90), conversations: resolvedTotal(true) },
    sentiment: { ...fill(SENTIMENTS, sentiment), none: sentiment.get(null) ?? 0 },
    previous_period: {
      from: addDays(period.from, -n),
      to: addDays(period.from, -1),
      conversations: Number(r.p_conversations),
      messages: Number(r.p_messages),
      resolved: Number(r.p_resolved),
      open: Number(r.p_open),
    },
  };
}
