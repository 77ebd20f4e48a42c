// `npm run bench:search`: full-text search at a million messages on real PostgreSQL. Builds a
// deterministic corpus (100,000 conversations, 1,000,000 messages; seeded, generated inside
// PostgreSQL) in its own database `parley_bench` (kept between runs; BENCH_SEARCH_REBUILD=1
// rebuilds it), then times the search service's own SQL through the Neon driver for five query
// kinds, next to the same searches done with ILIKE, and prints p50/p95/p99 and the ratios.
import { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { compileQuery, type SearchFilters, searchConversations } from "../functions/conversations/search.service";
import type { Database } from "../lib/db";
import { createLocalServices } from "../lib/local/services";
import { startWsProxy } from "../lib/local/ws-proxy";
import { useNodeWebSockets } from "../lib/local/neon-node";
import { useLocalWsProxy } from "../lib/db-neon";
import { corpusSql, vocabulary } from "./search-corpus";
import type { BenchContext } from "./support";

export const name = "search";
export const description = "POST /v1/conversations/search SQL at 100,000 conversations / 1,000,000 messages vs ILIKE, real PostgreSQL";
export const order = 30;

const SEED = 42;
const CONVERSATIONS = Number(process.env.BENCH_SEARCH_CONVERSATIONS) || 100_000;
const RUNS = Number(process.env.BENCH_SEARCH_RUNS) || 200;
// ILIKE scans every message (about a second a query), so fewer runs by default; raise with the variable.
const ILIKE_RUNS = Number(process.env.BENCH_SEARCH_ILIKE_RUNS) || 50;
const WORKSPACE = "ws_bench_search";
const EPOCH = "2026-06-01T00:00:00Z";
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const BENCH_DB = "parley_bench";

interface Kind {
  label: string;
  /** The i-th query of this kind (rotating through a list, so the runs are not one cached query). */
  query(i: number): { query: string; filters: SearchFilters; ilike: string[][] };
}

const COMMON = ["order", "account", "payment", "refund", "card", "delivery", "email", "invoice", "help", "issue"];
const OR_PAIRS = [["refund", "invoice"], ["password", "login"], ["delivery", "tracking"], ["charge", "receipt"], ["cancel", "subscription"]];
const PHRASES = [["thanks", "for"], ["please", "help"], ["my", "order"], ["the", "refund"], ["your", "account"]];
const TAGS = ["vip", "urgent", "escalated", "enterprise", "churn-risk"];

function kinds(words: string[]): Kind[] {
  // Rare: made-up words far down the Zipf tail (each in roughly 0.1% of conversations).
  const rare = Array.from({ length: 50 }, (_, i) => words[12_000 + i * 137]!);
  return [
    { label: "common term", query: (i) => ({ query: COMMON[i % COMMON.length]!, filters: {}, ilike: [[COMMON[i % COMMON.length]!]] }) },
    { label: "rare term", query: (i) => ({ query: rare[i % rare.length]!, filters: {}, ilike: [[rare[i % rare.length]!]] }) },
    {
      label: "two terms with or",
      query: (i) => {
        const [a, b] = OR_PAIRS[i % OR_PAIRS.length]!;
        return { query: `${a} or ${b}`, filters: {}, ilike: [[a!], [b!]] };
      },
    },
    {
      label: "phrase",
      query: (i) => {
        const [a, b] = PHRASES[i % PHRASES.length]!;
        return { query: `"${a} ${b}"`, filters: {}, ilike: [[`${a} ${b}`]] };
      },
    },
    {
      label: "term + date + tag",
      query: (i) => {
        const month = 1 + (i % 10);
        const from = `2025-${String(month + 1).padStart(2, "0")}-01`;
        const to = `2025-${String(month + 2).padStart(2, "0")}-28`;
        const term = COMMON[i % COMMON.length]!;
        return { query: term, filters: { date_from: from, date_to: to, tags: [TAGS[i % TAGS.length]!] }, ilike: [[term]] };
      },
    },
  ];
}

/** The ILIKE baseline: the same filters, the words as substrings of title, summary, content or any message. */
function ilikeSql(workspaceId: string, anyOf: string[][], f: SearchFilters, perPage: number) {
  const like = (w: string) => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const one = (w: string) =>
    sql`(c.title ilike ${like(w)} or c.summary->>'content' ilike ${like(w)} or c.content ilike ${like(w)}
      or exists (select 1 from messages m where m.conversation_id = c.id and m.content ilike ${like(w)}))`;
  const text = sql.join(
    anyOf.map((all) => sql.join(all.map(one), sql` and `)),
    sql` or `,
  );
  const conds = [sql`c.workspace_id = ${workspaceId}`, sql`(${text})`];
  if (f.date_from) conds.push(sql`c.created_at >= ${f.date_from}::timestamptz`);
  if (f.date_to) conds.push(sql`c.created_at < (${f.date_to}::date + 1)::timestamptz`);
  if (f.tags?.length)
    conds.push(sql`exists (select 1 from conversation_tags ct join tags t on t.id = ct.tag_id where ct.conversation_id = c.id and lower(t.name) = ${f.tags[0]!})`);
  const where = sql.join(conds, sql` and `);
  return sql`select c.id, c.title, count(*) over () as total from conversations c where ${where} order by c.created_at desc, c.id desc limit ${perPage}`;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

async function ensureDatabase(): Promise<void> {
  const pool = new Pool({ connectionString: ADMIN_URL, max: 1 });
  try {
    const r = await pool.query("select 1 from pg_database where datname = $1", [BENCH_DB]);
    if (!r.rowCount) await pool.query(`create database ${BENCH_DB}`);
  } finally {
    await pool.end();
  }
}

async function buildCorpus(db: Database, words: string[]): Promise<void> {
  const [state] = rows<{ n: number }>(await db.execute(sql`select count(*)::int as n from conversations where workspace_id = ${WORKSPACE}`));
  const [msgs] = rows<{ n: number }>(await db.execute(sql`select count(*)::int as n from messages where workspace_id = ${WORKSPACE}`));
  if (!process.env.BENCH_SEARCH_REBUILD && Number(state?.n) === CONVERSATIONS && Number(msgs?.n) === CONVERSATIONS * 10) {
    console.log(`corpus present: ${CONVERSATIONS.toLocaleString("en")} conversations, ${(CONVERSATIONS * 10).toLocaleString("en")} messages (BENCH_SEARCH_REBUILD=1 rebuilds it)`);
    return;
  }
  console.log(`building the corpus: ${CONVERSATIONS.toLocaleString("en")} conversations, ${(CONVERSATIONS * 10).toLocaleString("en")} messages (several minutes)…`);
  await db.execute(sql`delete from workspaces where id = ${WORKSPACE}`);
  await db.execute(sql`insert into workspaces (id, name) values (${WORKSPACE}, 'Search bench')`);
  for (const [i, stmt] of corpusSql({ words, workspaceId: WORKSPACE, conversations: CONVERSATIONS, seed: SEED, epoch: EPOCH }).entries()) {
    const started = Date.now();
    await db.execute(sql.raw(stmt));
    if (Date.now() - started > 2000) console.log(`  step ${i + 1}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  await db.execute(sql`vacuum analyze conversations`);
  await db.execute(sql`vacuum analyze messages`);
  await db.execute(sql`analyze conversation_tags`);
  await db.execute(sql`analyze tags`);
}

function rows<T>(r: unknown): T[] {
  return (Array.isArray(r) ? r : ((r as { rows?: T[] }).rows ?? [])) as T[];
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(_ctx: BenchContext): Promise<void> {
  const proxy = await startWsProxy();
  useNodeWebSockets();
  useLocalWsProxy(proxy.address);
  await ensureDatabase();
  const url = process.env.BENCH_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/${BENCH_DB}`;
  // Opening the local services applies every migration to the bench database.
  const services = await createLocalServices({ dataDir: null, env: { DATABASE_URL: url, NEON_WS_PROXY: proxy.address } });
  const db = services.db;
  try {
    const words = vocabulary(SEED);
    await buildCorpus(db, words);
    const [size] = rows<{ convs: number; msgs: number; idx: string; pairs: string }>(
      await db.execute(
        sql`select (select count(*) from conversations where workspace_id = ${WORKSPACE})::int as convs, (select count(*) from messages where workspace_id = ${WORKSPACE})::int as msgs, pg_size_pretty(pg_relation_size('conversations_search_idx')) as idx, pg_size_pretty(pg_relation_size('conversations_search_bigrams_idx')) as pairs`,
      ),
    );
    console.log(`corpus: ${size!.convs.toLocaleString("en")} conversations, ${size!.msgs.toLocaleString("en")} messages, GIN index ${size!.idx}, phrase-pairs GIN ${size!.pairs}`);

    const table: string[][] = [];
    for (const k of kinds(words)) {
      // Warm-up (and a sanity check that every kind finds something).
      let hits = 0;
      for (let i = 0; i < 10; i++) {
        const q = k.query(i);
        const c = await compileQuery(db, WORKSPACE, q.query);
        hits += (await searchConversations(db, WORKSPACE, c, q.filters, "relevance", { page: 1, per_page: 20 })).total;
      }
      const fts: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const q = k.query(i);
        fts.push(
          await time(async () => {
            const c = await compileQuery(db, WORKSPACE, q.query);
            await searchConversations(db, WORKSPACE, c, q.filters, "relevance", { page: 1, per_page: 20 });
          }),
        );
      }
      const ilike: number[] = [];
      for (let i = 0; i < ILIKE_RUNS; i++) {
        const q = k.query(i);
        ilike.push(await time(() => db.execute(ilikeSql(WORKSPACE, q.ilike, q.filters, 20))));
      }
      const f = [pct(fts, 50), pct(fts, 95), pct(fts, 99)];
      const l = [pct(ilike, 50), pct(ilike, 95), pct(ilike, 99)];
      table.push([k.label, String(Math.round(hits / 10)), ...f.map((x) => x.toFixed(1)), ...l.map((x) => x.toFixed(0)), `${(l[0]! / f[0]!).toFixed(0)}×`, `${(l[1]! / f[1]!).toFixed(0)}×`, f[1]! <= 25 ? "yes" : "NO"]);
      console.log(`  ${k.label}: done`);
    }
    const head = ["query kind", "avg hits", "FTS p50", "p95", "p99", "ILIKE p50", "p95", "p99", "ratio p50", "ratio p95", "p95 ≤ 25 ms"];
    console.log(`\nSearch, ${RUNS} FTS and ${ILIKE_RUNS} ILIKE queries per kind, relevance order, 20 per page with total and snippets; ms through the Neon driver`);
    console.log(`| ${head.join(" | ")} |`);
    console.log(`|${head.map(() => "---").join("|")}|`);
    for (const r of table) console.log(`| ${r.join(" | ")} |`);
  } finally {
    await services.close();
    await proxy.close();
  }
}
