// /v1/analytics: a workspace's conversation figures over a period of days in its time zone, in
// one SQL statement (one round trip): conversations created, messages written and conversations
// resolved per day, breakdowns of the period's conversations, response and resolution times,
// sentiment from summaries, and the previous period of the same length for comparison.
import { eq, type SQL, sql } from "drizzle-orm";
import { type Db, rowsOf } from "../../lib/db";
import { dataException } from "../../lib/errors";
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

/** The workspace's IANA time zone (settings.timezone), UTC when none is set. */
export async function workspaceTimeZone(db: Db, workspaceId: string): Promise<string> {
  const [w] = await db.select({ settings: workspaces.settings }).from(workspaces).where(eq(workspaces.id, workspaceId)).limit(1);
  const tz = w?.settings?.timezone;
  return typeof tz === "string" && tz ? tz : "UTC";
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

interface Row {
  conversations: number;
  messages: number;
  resolved: number;
  open: number;
  series: Array<{ date: string; conversations: number; messages: number; resolved: number }> | string | null;
  by_source: Record<string, number> | string | null;
  by_status: Record<string, number> | string | null;
  by_channel: Array<{ channel_id: string | null; name: string | null; type: string | null; conversations: number }> | string | null;
  by_tag: Array<{ tag: string; conversations: number }> | string | null;
  by_agent: Array<{ agent_id: string | null; name: string | null; conversations: number; resolved: number }> | string | null;
  sentiment: Record<string, number> | string | null;
  frt: number[] | string | null;
  frt_n: number;
  rt: number[] | string | null;
  p_conversations: number;
  p_messages: number;
  p_resolved: number;
  p_open: number;
}

/** json/json arrays come back parsed (Neon, PGlite) or as text (some drivers). */
function parsed<T>(v: T | string | null): T | null {
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

function fill<K extends string>(keys: readonly K[], got: Record<string, number> | null): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, Number(got?.[k] ?? 0)])) as Record<K, number>;
}

function statement(ws: string, tz: string, p: Period, f: Pick<AnalyticsQuery, "channel_id" | "agent_id">): SQL {
  const filters = sql.join(
    [f.channel_id ? sql` and c.channel_id = ${f.channel_id}` : sql``, f.agent_id ? sql` and c.assignee_id = ${f.agent_id}` : sql``],
    sql``,
  );
  const filtered = Boolean(f.channel_id || f.agent_id);
  // The instants where the period's first day, the day after its last, and the previous period begin, in tz.
  const s = sql`(${p.from}::date::timestamp at time zone ${tz})`;
  const e = sql`((${p.to}::date + 1)::timestamp at time zone ${tz})`;
  const ps = sql`((${p.from}::date - ${p.days}::int)::timestamp at time zone ${tz})`;
  const messagesIn = (lo: SQL, hi: SQL) =>
    filtered
      ? sql`from messages m join conversations c on c.id = m.conversation_id and c.workspace_id = ${ws}${filters} where m.workspace_id = ${ws} and m.created_at >= ${lo} and m.created_at < ${hi}`
      : sql`from messages m where m.workspace_id = ${ws} and m.created_at >= ${lo} and m.created_at < ${hi}`;
  const open = sql.raw(OPEN_STATUSES.map((x) => `'${x}'`).join(", "));
  return sql`
    with conv as materialized (
      select c.id, c.created_at, c.status, c.source, c.channel_id, c.assignee_id, c.first_response_at,
             c.summary->>'sentiment' as sentiment, (c.created_at at time zone ${tz})::date as d
      from conversations c
      where c.workspace_id = ${ws} and c.created_at >= ${s} and c.created_at < ${e}${filters}
    ),
    res as materialized (
      select c.assignee_id, c.created_at, c.resolved_at, (c.resolved_at at time zone ${tz})::date as d
      from conversations c
      where c.workspace_id = ${ws} and c.resolved_at >= ${s} and c.resolved_at < ${e}${filters}
    ),
    msg as materialized (
      select (m.created_at at time zone ${tz})::date as d, count(*)::int as n ${messagesIn(s, e)} group by 1
    ),
    days as (select generate_series(${p.from}::date, ${p.to}::date, interval '1 day')::date as d)
    select
      (select count(*) from conv)::int as conversations,
      (select coalesce(sum(n), 0) from msg)::int as messages,
      (select count(*) from res)::int as resolved,
      (select count(*) from conv where status in (${open}))::int as open,
      (select json_agg(json_build_object('date', to_char(days.d, 'YYYY-MM-DD'), 'conversations', coalesce(cc.n, 0), 'messages', coalesce(mm.n, 0), 'resolved', coalesce(rr.n, 0)) order by days.d)
         from days
         left join (select d, count(*)::int as n from conv group by d) cc on cc.d = days.d
         left join msg mm on mm.d = days.d
         left join (select d, count(*)::int as n from res group by d) rr on rr.d = days.d) as series,
      (select json_object_agg(source, n) from (select source, count(*)::int as n from conv group by source) x) as by_source,
      (select json_object_agg(status, n) from (select status, count(*)::int as n from conv group by status) x) as by_status,
      (select json_agg(json_build_object('channel_id', x.channel_id, 'name', ch.name, 'type', ch.type, 'conversations', x.n) order by x.n desc, x.channel_id nulls last)
         from (select channel_id, count(*)::int as n from conv group by channel_id) x
         left join channels ch on ch.id = x.channel_id and ch.workspace_id = ${ws}) as by_channel,
      (select json_agg(json_build_object('tag', t.name, 'conversations', x.n) order by x.n desc, t.name)
         from (select ct.tag_id, count(*)::int as n from conv join conversation_tags ct on ct.conversation_id = conv.id
               group by ct.tag_id order by n desc, ct.tag_id limit ${TOP_TAGS}) x
         join tags t on t.id = x.tag_id and t.workspace_id = ${ws}) as by_tag,
      (select json_agg(json_build_object('agent_id', k.assignee_id, 'name', a.name, 'conversations', coalesce(cv.n, 0), 'resolved', coalesce(rv.n, 0))
                       order by coalesce(cv.n, 0) desc, coalesce(rv.n, 0) desc, k.assignee_id nulls last)
         from (select assignee_id from conv union select assignee_id from res) k
         left join (select assignee_id, count(*)::int as n from conv group by assignee_id) cv on cv.assignee_id is not distinct from k.assignee_id
         left join (select assignee_id, count(*)::int as n from res group by assignee_id) rv on rv.assignee_id is not distinct from k.assignee_id
         left join agents a on a.id = k.assignee_id and a.workspace_id = ${ws}) as by_agent,
      (select json_object_agg(coalesce(sentiment, 'none'), n) from (select sentiment, count(*)::int as n from conv group by sentiment) x) as sentiment,
      (select percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from first_response_at - created_at)::float8)
         from conv where first_response_at is not null) as frt,
      (select count(*) from conv where first_response_at is not null)::int as frt_n,
      (select percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from resolved_at - created_at)::float8) from res) as rt,
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.created_at >= ${ps} and c.created_at < ${s}${filters})::int as p_conversations,
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.created_at >= ${ps} and c.created_at < ${s}${filters} and c.status in (${open}))::int as p_open,
      (select count(*) from conversations c where c.workspace_id = ${ws} and c.resolved_at >= ${ps} and c.resolved_at < ${s}${filters})::int as p_resolved,
      (select count(*) ${messagesIn(ps, s)})::int as p_messages
  `;
}

export async function analytics(db: Db, workspaceId: string, period: Period, f: Pick<AnalyticsQuery, "channel_id" | "agent_id">) {
  let row: Row | undefined;
  let tz = period.timezone;
  try {
    row = rowsOf<Row>(await db.execute(statement(workspaceId, tz, period, f)))[0];
  } catch (err) {
    // A zone the database does not know (its tz data older than the runtime's): report in UTC.
    if (!dataException(err) || tz === "UTC") throw err;
    tz = "UTC";
    row = rowsOf<Row>(await db.execute(statement(workspaceId, tz, period, f)))[0];
  }
  const r = row!;
  const [frtMedian, frtP90] = floats(r.frt);
  const [rtMedian, rtP90] = floats(r.rt);
  const previousTo = addDays(period.from, -1);
  return {
    period: { from: period.from, to: period.to, days: period.days, timezone: tz },
    totals: { conversations: Number(r.conversations), messages: Number(r.messages), resolved: Number(r.resolved), open: Number(r.open) },
    series: parsed(r.series) ?? [],
    by_channel: parsed(r.by_channel) ?? [],
    by_source: fill(CONVERSATION_SOURCES, parsed(r.by_source)),
    by_status: fill(CONVERSATION_STATUSES, parsed(r.by_status)),
    by_tag: parsed(r.by_tag) ?? [],
    by_agent: parsed(r.by_agent) ?? [],
    first_response_time: { median_seconds: seconds(frtMedian), p90_seconds: seconds(frtP90), conversations: Number(r.frt_n) },
    resolution_time: { median_seconds: seconds(rtMedian), p90_seconds: seconds(rtP90), conversations: Number(r.resolved) },
    sentiment: fill([...SENTIMENTS, "none"] as const, parsed(r.sentiment)),
    previous_period: {
      from: addDays(period.from, -period.days),
      to: previousTo,
      conversations: Number(r.p_conversations),
      messages: Number(r.p_messages),
      resolved: Number(r.p_resolved),
      open: Number(r.p_open),
    },
  };
}
