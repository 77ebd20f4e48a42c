// Full-text search over conversations: the one place its SQL lives. The index (a generated
// `search_vector` over title A, summary B, content and messages C, GIN-indexed, kept current by
// triggers in the same transaction as every message write) is built by the `search` migration;
// its columns are deliberately not in the drizzle schema, so that no `select()` of a
// conversation ever ships kilobytes of tsvector.
import { type SQL, sql } from "drizzle-orm";
import { type Db, rowsOf } from "../../lib/db";
import { offsetOf, type Page } from "../../lib/pagination";

export const SEARCH_SORTS = ["relevance", "created_at", "-created_at"] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

export interface SearchFilters {
  date_from?: string;
  date_to?: string;
  topics?: string[];
  sentiment?: string[];
  status?: string[];
  source?: string[];
  tags?: string[];
}

export interface SearchHit {
  id: string;
  title: string;
  snippet: string;
  score: number;
  status: string;
  source: string;
  created_at: string;
}

/**
 * Rank weights for D, C, B, A (messages and content are C, the summary B, the title A), then
 * normalization 1|32: divided by 1 + log(length) so that long conversations do not win by
 * sheer repetition, then mapped to rank / (rank + 1), which lies in [0, 1).
 */
const RANK = sql.raw(`'{0.1, 0.2, 0.4, 1.0}'::float4[]`);
const RANK_NORMALIZATION = 33;

// Sentinels for ts_headline: control characters that cannot occur in the text (they are
// stripped from it first), so the HTML escaping after the query cannot be fooled by the data.
const MARK_START = "\u0002";
const MARK_STOP = "\u0003";
const LT = "\u0004";
const GT = "\u0005";
const HEADLINE_OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_STOP}, MaxWords=30, MinWords=12, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "`;

/**
 * How much work a snippet may do, whatever the conversation (issue 16: each hit parsed up to 500
 * messages with to_tsvector, ~80 ms a hit of 500 × 1 KB messages on PGlite, ~55 ms on PostgreSQL). The
 * passages (title, summary, content, then the first `messagesScanned` messages, each cut to
 * `passageChars`) are first narrowed by a plain substring test on the query's lexemes (a
 * cheap necessary condition, see snippetPlan); at most `candidates` of them are parsed with
 * to_tsvector, and ts_headline runs on one window of `windowChars` around the first match
 * (after the title's first titleChars, as context).
 */
export const SNIPPET_LIMITS = { messagesScanned: 500, passageChars: 20_000, candidates: 8, windowChars: 1_000, titleChars: 200 } as const;
/** Characters of the window kept before the first match. */
const WINDOW_LEAD = 240;

/** Where a hit's snippet was cut from, and how much text-search work it took (tests read it). */
export interface SnippetSource {
  id: string;
  /** title | summary | content | message, or null when no passage within the bounds matched. */
  kind: string | null;
  /** The message's id when kind is message. */
  messageId: string | null;
  /** Characters given to ts_headline (at most windowChars + titleChars + 3). */
  headlineChars: number;
  /** Passages parsed with to_tsvector to find it (at most SNIPPET_LIMITS.candidates). */
  parsed: number;
}

/** A compiled user query: the tsquery text (parsed once, by websearch_to_tsquery) and its configuration. */
export interface CompiledQuery {
  config: string;
  /** null: an empty query string, which searches nothing and lists everything that passes the filters. */
  tsquery: string | null;
  /** False when the string had words but none that can be searched (only stop words or punctuation). */
  searchable: boolean;
}

/**
 * Parses the user's string with websearch_to_tsquery in the workspace's text-search
 * configuration: quoted phrases, `or`, `-exclusion`; it never raises on any input.
 */
export async function compileQuery(db: Db, workspaceId: string, query: string): Promise<CompiledQuery> {
  const text = stripSentinels(query).trim();
  const rows = await db.execute(
    sql`select cfg::text as config, q::text as tsquery, numnode(q) as nodes
        from (select parley_search_config(${workspaceId}) as cfg) w, lateral websearch_to_tsquery(w.cfg, ${text}) q`,
  );
  const row = rowsOf<{ config: string; tsquery: string; nodes: number }>(rows)[0]!;
  if (!text) return { config: row.config, tsquery: null, searchable: true };
  return { config: row.config, tsquery: row.tsquery, searchable: Number(row.nodes) > 0 };
}

/**
 * The full-text condition on `conversations c`, for the list's `search` filter as well. A query
 * that requires adjacent words (a quoted phrase) also requires their pairs in `search_bigrams`
 * (migration 0007): that GIN finds the few candidates, and only they get the positional check.
 */
export function matchCondition(tsquery: string): SQL {
  const pairs = requiredBigrams(tsquery);
  const bigrams = pairs.length ? sql` and c.search_bigrams @@ ${pairs.map(quoteLexeme).join(" & ")}::tsquery` : sql``;
  return sql`c.search_vector @@ ${tsquery}::tsquery${bigrams}`;
}

/**
 * The adjacent-lexeme pairs ('pleas help') that every match of a tsquery (websearch_to_tsquery's
 * output) must contain: those of its phrases (`<->`, distance 1) joined by `&` at the top level.
 * Anything this does not follow (`|`, parentheses, negation, weights, prefixes) adds no pair:
 * the pairs only narrow what the GIN hands over, so leaving one out is always safe.
 */
export function requiredBigrams(tsquery: string): string[] {
  const tokens = tsquery.match(/'(?:[^'\\]|''|\\.)*'|<->|<\d+>|[&|!()]|:[*A-Da-d]+|\S/g) ?? [];
  if (tokens.some((t) => t === "|" || t === "(" || t === ")" || t.startsWith(":"))) return [];
  const pairs = new Set<string>();
  let item: string[] = [];
  const flush = () => {
    // An item is lexeme (op lexeme)*; a negated item (or a stray token) contributes nothing.
    if (!item.includes("!")) {
      for (let i = 1; i + 1 < item.length; i += 2) {
        const a = item[i - 1]!;
        const b = item[i + 1]!;
        if (item[i] === "<->" && a.startsWith("'") && b.startsWith("'")) {
          const pair = `${unquoteLexeme(a)} ${unquoteLexeme(b)}`;
          if (Buffer.byteLength(pair) < 1000) pairs.add(pair);
        }
      }
    }
    item = [];
  };
  for (const t of tokens) {
    if (t === "&") flush();
    else item.push(t);
  }
  flush();
  return [...pairs];
}

/** tsquery's output quoting: 'it''s', with backslashes escaped. */
const unquoteLexeme = (q: string) => q.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, "$1");
const quoteLexeme = (l: string) => `'${l.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

/** The filters' WHERE on `conversations c` (tenancy first); `tsquery` null means no text condition. */
export function searchWhere(workspaceId: string, tsquery: string | null, f: SearchFilters): SQL {
  const conds: SQL[] = [sql`c.workspace_id = ${workspaceId}`];
  if (f.date_from) conds.push(sql`c.created_at >= ${dateBound(f.date_from, "from")}::timestamptz`);
  if (f.date_to) conds.push(sql`c.created_at < ${dateBound(f.date_to, "to")}::timestamptz`);
  if (f.status?.length) conds.push(sql`c.status in (${list(f.status)})`);
  if (f.source?.length) conds.push(sql`c.source in (${list(f.source)})`);
  if (f.sentiment?.length) conds.push(sql`(c.summary->>'sentiment') in (${list(f.sentiment)})`);
  // After the column filters: PostgreSQL keeps the written order of equally costed conditions, and
  // the match reads the row's whole vector (TOAST), so a row the dates already rule out must not pay it.
  if (tsquery !== null) conds.push(matchCondition(tsquery));
  if (f.topics?.length) {
    conds.push(sql`exists (select 1 from jsonb_array_elements_text(case when jsonb_typeof(c.summary->'topics') = 'array' then c.summary->'topics' else '[]'::jsonb end) t
      where lower(t) in (${list(f.topics.map((t) => t.toLowerCase()))}))`);
  }
  if (f.tags?.length) {
    // tag_ids (migration 0009) is GIN-indexed, so the tag, the dates and the text combine as
    // bitmaps; the names are resolved to the workspace's ids (case-insensitively) in the statement.
    conds.push(sql`c.tag_ids && array(select t.id from tags t
      where t.workspace_id = ${workspaceId} and lower(t.name) in (${list(f.tags.map((t) => t.trim().toLowerCase()))}))`);
  }
  return sql.join(conds, sql` and `);
}

/**
 * How much work one search may do, whatever the data. A relevance order ranks at most
 * `rankWindow` matches: when more conversations match, the most recent `rankWindow` of them are
 * ranked (found newest first through the (workspace_id, created_at) index, which stops as soon
 * as it has them) and pages past them are empty. `total` is exact up to `countCap` matches (or,
 * under a date sort, as deep as the page asked for); beyond that it is the planner's estimate
 * and `totalExact` is false.
 */
export interface SearchLimits {
  rankWindow: number;
  countCap: number;
}
// 500 each: at a million messages a window of 500 matches costs ~8 ms (each match's vector is read
// from TOAST), 1,000 twice that, which breaks the 25 ms p95 target of issue 6 under load.
export const SEARCH_LIMITS: SearchLimits = { rankWindow: 500, countCap: 500 };

export interface SearchResult {
  total: number;
  totalExact: boolean;
  /** How many pages can hold hits: under relevance at most rankWindow / per_page. */
  totalPages: number;
  hits: SearchHit[];
  /** Per hit, where its snippet came from and the work it took (not part of the API's answer). */
  snippetSources: SnippetSource[];
}

/**
 * One page of hits and the total, in one statement. A window of matches is taken in date order
 * (newest first for relevance) with one row more than needed, which says whether there are more:
 * relevance ranks the window and cuts the page from it; date sorts cut the page from the window.
 * Only the page's rows get a snippet.
 */
export async function searchConversations(
  db: Db,
  workspaceId: string,
  q: CompiledQuery,
  f: SearchFilters,
  sort: SearchSort,
  page: Page,
  limits: SearchLimits = SEARCH_LIMITS,
): Promise<SearchResult> {
  if (!q.searchable) return { total: 0, totalExact: true, totalPages: 1, hits: [], snippetSources: [] };
  const where = searchWhere(workspaceId, q.tsquery, f);
  const limit = page.per_page;
  const offset = offsetOf(page);
  const tsq = q.tsquery === null ? null : sql`${q.tsquery}::tsquery`;
  const rankOf = (alias: string) => (tsq ? sql`ts_rank_cd(${RANK}, ${sql.raw(alias)}.search_vector, ${tsq}, ${sql.raw(String(RANK_NORMALIZATION))})` : sql`1.0::float4`);
  const byRank = sort === "relevance" && tsq !== null;
  const dir = sql.raw(sort === "created_at" ? "asc" : "desc");

  // Relevance: the newest rankWindow matches (+1); date sorts: as deep as the page (+1), at least countCap (+1).
  const windowSize = byRank ? limits.rankWindow : Math.max(limits.countCap, offset + limit);
  const window = sql`select c.id, c.created_at${byRank ? sql`, ${rankOf("c")} as rank` : sql``}
    from conversations c where ${where}
    order by c.created_at ${dir}, c.id ${dir} limit ${windowSize + 1}`;
  const pageSql = byRank
    ? sql`select w.id, w.created_at, w.rank from (
          select w.*, row_number() over (order by w.created_at desc, w.id desc) as pos from w) w
        where w.pos <= ${limits.rankWindow}
        order by w.rank desc, w.created_at desc, w.id desc limit ${limit} offset ${offset}`
    : sql`select w.id, w.created_at from w order by w.created_at ${dir}, w.id ${dir} limit ${limit} offset ${offset}`;

  const order = byRank ? sql`p.rank desc, p.created_at desc, p.id desc` : sql`p.created_at ${dir}, p.id ${dir}`;
  const rankOut = byRank ? sql`p.rank` : rankOf("c");
  const snippet = tsq ? boundedSnippet(q.config, q.tsquery!) : null;
  const emptyQuerySnippet = sql`left(translate(translate(concat_ws(' … ', c.summary->>'content', left(c.content, 2000), c.title), ${`${MARK_START}${MARK_STOP}${LT}${GT}`}, ''), '<>', ${`${LT}${GT}`}), 240)`;

  // The left join keeps one row (with the window's size) even when the page is empty.
  const result = await db.execute(
    sql`with w as materialized (${window}), p as materialized (${pageSql})
      select n.window_rows, x.* from (select count(*)::int as window_rows from w) n
      left join lateral (
        select p.id, c.title, c.status, c.source, c.created_at, ${rankOut} as rank,
          ${snippet ? sql`coalesce(s.snippet, ${emptyQuerySnippet}) as snippet, s.kind as snippet_kind, s.ref as snippet_ref, coalesce(s.headline_chars, 0) as headline_chars, coalesce(s.parsed, 0) as parsed` : sql`${emptyQuerySnippet} as snippet, null as snippet_kind, null as snippet_ref, 0 as headline_chars, 0 as parsed`}
        from p join conversations c on c.id = p.id
        ${snippet ? sql`left join lateral (${snippet}) s on true` : sql``}
        order by ${order}) x on true`,
  );
  type Row = {
    window_rows: number;
    id: string | null;
    title: string;
    status: string;
    source: string;
    created_at: string | Date;
    rank: number;
    snippet: string | null;
    snippet_kind: string | null;
    snippet_ref: string | null;
    headline_chars: number;
    parsed: number;
  };
  const rows = rowsOf<Row>(result);
  const windowRows = Number(rows[0]?.window_rows ?? 0);
  const complete = windowRows <= windowSize;
  const total = complete ? windowRows : Math.max(windowSize + 1, await estimateMatches(db, where));
  const reachable = byRank ? Math.min(total, limits.rankWindow) : total;
  const found = rows.filter((r) => r.id !== null);
  return {
    total,
    totalExact: complete,
    totalPages: Math.max(1, Math.ceil(reachable / limit)),
    snippetSources: found.map((r) => ({
      id: r.id!,
      kind: r.snippet_kind,
      messageId: r.snippet_ref,
      headlineChars: Number(r.headline_chars),
      parsed: Number(r.parsed),
    })),
    hits: found
      .map((r) => ({
        id: r.id!,
        title: r.title,
        snippet: renderSnippet(r.snippet ?? ""),
        score: scoreOf(Number(r.rank)),
        status: r.status,
        source: r.source,
        created_at: new Date(r.created_at).toISOString(),
      })),
  };
}

/**
 * What a snippet looks for: `patterns`, substrings (lower case) of which every passage that can
 * match the query contains at least one, and `anyQuery`, the query's words joined by `|`
 * (a passage with only some of an `&` query's words still makes a snippet). A lexeme is the
 * lower-cased word (simple) or its Snowball stem (english), and a stem changes at most its last
 * two characters of the word it comes from (happy → happi, ability → abil, dying → die, skies →
 * sky), so the stem less two characters is a substring of the word. A query that can match
 * without any word (a negation) gets no patterns: the first passages are parsed as they come.
 */
export function snippetPlan(config: string, tsquery: string): { patterns: string[] | null; anyQuery: string } {
  const tokens: string[] = tsquery.match(/'(?:[^'\\]|''|\\.)*'|<->|<\d+>|[&|!()]|:[*A-Da-d]+|\S/g) ?? [];
  const lexemes = [...new Set(tokens.filter((t) => t.startsWith("'")).map(unquoteLexeme))].filter((l) => l.length > 0);
  if (!lexemes.length || tokens.includes("!")) return { patterns: null, anyQuery: tsquery };
  const stemmed = !config.endsWith("simple");
  const patterns = [...new Set(lexemes.map((l) => (stemmed ? [...l].slice(0, Math.max(1, [...l].length - 2)).join("") : l).toLowerCase()))];
  return { patterns, anyQuery: lexemes.map(quoteLexeme).join(" | ") };
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/**
 * The lateral subquery (over `conversations c`) that makes one hit's snippet with bounded work:
 * the passages in order (title, summary, content, messages), narrowed by the plan's substrings,
 * at most SNIPPET_LIMITS.candidates parsed; the first that matches the whole query (else any of
 * its words) gives a window of SNIPPET_LIMITS.windowChars from just before its first match, the
 * only text ts_headline sees.
 */
function boundedSnippet(config: string, tsquery: string): SQL {
  const L = SNIPPET_LIMITS;
  const { patterns, anyQuery } = snippetPlan(config, tsquery);
  const cfg = sql`${config}::regconfig`;
  const tsq = sql`${tsquery}::tsquery`;
  const anyq = sql`${anyQuery}::tsquery`;
  const list = (xs: string[]) => sql.join(xs.map((x) => sql`${x}`), sql`, `);
  const likes = patterns ? sql`array[${list(patterns.map((p) => `%${likeEscape(p)}%`))}]::text[]` : null;
  const prefilter = (text: SQL) => (likes ? sql`${text} ilike any (${likes})` : sql`true`);
  // The first match's position; short patterns (stems of 1–2 letters) only when nothing longer exists.
  const anchorPatterns = patterns ? (patterns.some((p) => p.length >= 3) ? patterns.filter((p) => p.length >= 3) : patterns) : [];
  const anchor = anchorPatterns.length
    ? sql`coalesce(least(${sql.join(anchorPatterns.map((p) => sql`nullif(strpos(lower(k.body), ${p}), 0)`), sql`, `)}), 1)`
    : sql`1`;
  // The messages: the first `messagesScanned` in order (sorted by reference, the text is only read by
  // the substring test on top), of which the substring test keeps the first few candidates.
  const passages = sql`
    select 0 as ord, 'title' as kind, null::text as ref, c.title as body where ${prefilter(sql`c.title`)}
    union all select 1, 'summary', null, concat_ws(' … ', c.summary->>'title', c.summary->>'content')
      where c.summary is not null and ${prefilter(sql`concat_ws(' … ', c.summary->>'title', c.summary->>'content')`)}
    union all select 2, 'content', null, left(c.content, ${L.passageChars}) where ${prefilter(sql`left(c.content, ${L.passageChars})`)}
    union all select * from (select 3, 'message', m.id, left(m.content, ${L.passageChars}) from (
        select m.id, m.content, m.created_at from messages m where m.conversation_id = c.id order by m.created_at limit ${L.messagesScanned}) m
      where ${prefilter(sql`left(m.content, ${L.passageChars})`)} limit ${L.candidates}) m`;
  // Append keeps the passages' order and row_number() over () streams, so the scan stops at the
  // first match among the first candidates: no sort of all passages, and at most `candidates` parsed
  // per pass. A passage with the whole query is preferred; only when the first candidates have none,
  // a second pass takes the first with any of its words (an `&` of words in different messages).
  const numbered = sql`select k.*, row_number() over () as rn from (${passages}) k`;
  const firstMatch = (query: SQL, before: number) =>
    sql`select k.ord, k.kind, k.ref, k.body, k.rn + ${before} as n from (${numbered}) k
      where k.rn <= ${L.candidates} and to_tsvector(${cfg}, k.body) @@ ${query} limit 1`;
  const chosen = sql`(${firstMatch(tsq, 0)}) union all (${firstMatch(anyq, L.candidates)}) limit 1`;
  const clean = (text: SQL) => sql`translate(translate(${text}, ${`${MARK_START}${MARK_STOP}${LT}${GT}`}, ''), '<>', ${`${LT}${GT}`})`;
  // A window that starts inside the text drops its first, partial word.
  const window = sql`select case when w.start > 1 then regexp_replace(substr(k.body, w.start, ${L.windowChars}), ${"^\\S*\\s*"}, '') else substr(k.body, 1, ${L.windowChars}) end as text
    from (select greatest(1, ${anchor} - ${WINDOW_LEAD}) as start) w`;
  // The title leads as context (as it did when the whole conversation was the headline's document).
  const text = sql`case when k.kind = 'title' then w.text else concat_ws(' … ', left(c.title, ${L.titleChars}), w.text) end`;
  return sql`select k.kind, k.ref, k.n as parsed, length(t.text) as headline_chars,
      ts_headline(${cfg}, ${clean(sql`t.text`)}, case when to_tsvector(${cfg}, t.text) @@ ${tsq} then ${tsq} else ${anyq} end, ${HEADLINE_OPTIONS}) as snippet
    from (${chosen}) k, lateral (${window}) w, lateral (select ${text} as text) t`;
}

/**
 * The planner's estimate of how many conversations match (from the column statistics, including
 * the tsvector's most common lexemes): counting 40,000 matches exactly costs hundreds of
 * milliseconds, estimating them well under one.
 */
async function estimateMatches(db: Db, where: SQL): Promise<number> {
  const r = await db.execute(sql`explain (format json) select 1 from conversations c where ${where}`);
  const row = rowsOf<Record<string, unknown>>(r)[0];
  const raw = row ? Object.values(row)[0] : null;
  const plan = (typeof raw === "string" ? JSON.parse(raw) : raw) as { Plan?: { "Plan Rows"?: number } }[] | null;
  const n = Number(plan?.[0]?.Plan?.["Plan Rows"]);
  return Number.isFinite(n) ? Math.round(n) : 0;
}

/** rank / (rank + 1) is in [0, 1); a match always scores above 0, and 4 decimals are plenty. */
export function scoreOf(rank: number): number {
  if (!Number.isFinite(rank) || rank >= 1) return 1;
  return Math.max(0.0001, Math.round(rank * 10_000) / 10_000);
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Everything HTML-escaped, then the sentinels become <mark>…</mark>: the only markup in a snippet. */
export function renderSnippet(raw: string): string {
  const text = raw.replaceAll(LT, "<").replaceAll(GT, ">");
  return text
    .replace(/[&<>"']/g, (ch) => ESCAPES[ch]!)
    .replaceAll(MARK_START, "<mark>")
    .replaceAll(MARK_STOP, "</mark>")
    .replace(/\s+/g, " ")
    .trim();
}

/** User text can never carry the sentinels (a query could otherwise spell them). */
export function stripSentinels(s: string): string {
  let out = s;
  for (const ch of [MARK_START, MARK_STOP, LT, GT]) out = out.replaceAll(ch, " ");
  return out;
}

/** A date (YYYY-MM-DD, whole days in UTC: `to` includes that day) or a timestamp, as an ISO bound. */
export function dateBound(value: string, side: "from" | "to"): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const d = new Date(`${value}T00:00:00.000Z`);
    if (side === "to") d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString();
  }
  const d = new Date(value);
  // `to` with a time is inclusive: everything up to and including that millisecond.
  return side === "to" ? new Date(d.getTime() + 1).toISOString() : d.toISOString();
}

const list = (values: string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );
