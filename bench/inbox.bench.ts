// The inbox list on real PostgreSQL: GET /v1/conversations?status=open&tag=…&per_page=20 over
// HTTP through the local server, next to the very same SQL (captured from the service while it
// answers that request) replayed raw through the same Neon driver at the same concurrency.
// Target: the API costs at most 1.5× the raw queries.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import type { Database } from "../lib/db";
import { newId } from "../lib/ids";
import { listConversations } from "../functions/conversations/service";
import * as schema from "../schema";
import { conversations, conversationTags, tags } from "../schema";
import { type BenchContext, type LoadResult, load, printLoadTable, signUp, startBenchServer } from "./support";

export const name = "inbox";
export const description = "GET /v1/conversations (status + tag, 20 per page, 10,000 seeded) vs the same SQL raw, real PostgreSQL";
export const order = 20;

const SEED = 10_000;
const STATUSES = ["open", "open", "open", "pending", "snoozed", "resolved", "closed"] as const;
const TAG_NAMES = ["billing", "shipping", "vip", "bug", "refund"] as const;
const TARGET_TAG = "billing";

/** 10,000 conversations over the last 90 days, with statuses and 0–2 tags each, in bulk. */
async function seed(db: Database, workspaceId: string): Promise<void> {
  const tagRows = TAG_NAMES.map((n) => ({ id: newId("tag"), workspaceId, name: n }));
  await db.insert(tags).values(tagRows);
  const now = Date.now();
  for (let start = 0; start < SEED; start += 1000) {
    const convs: Array<typeof conversations.$inferInsert> = [];
    const links: Array<typeof conversationTags.$inferInsert> = [];
    for (let i = start; i < Math.min(SEED, start + 1000); i++) {
      const at = new Date(now - Math.floor(Math.random() * 90 * 86_400_000));
      const id = newId("conv", at.getTime());
      const status = STATUSES[i % STATUSES.length]!;
      convs.push({
        id,
        workspaceId,
        title: `Conversation ${i}`,
        content: `Seeded conversation number ${i} about ${TAG_NAMES[i % TAG_NAMES.length]}.`,
        source: (["web", "api", "email", "whatsapp", "chat"] as const)[i % 5]!,
        status,
        metadata: { seq: i },
        messageCount: i % 7,
        lastMessageAt: at,
        resolvedAt: status === "resolved" || status === "closed" ? at : null,
        createdAt: at,
        updatedAt: at,
      });
      // About a third carry the target tag; most carry one other.
      if (i % 3 === 0) links.push({ workspaceId, conversationId: id, tagId: tagRows[0]!.id });
      if (i % 4 !== 0) links.push({ workspaceId, conversationId: id, tagId: tagRows[1 + (i % 4)]!.id });
    }
    await db.insert(conversations).values(convs);
    await db.insert(conversationTags).values(links);
  }
  // What autovacuum would have done by the time a real inbox is this size: statistics, and the
  // visibility map that lets the count run as an index-only scan.
  for (const table of ["conversations", "conversation_tags", "tags"]) await db.execute(sql.raw(`vacuum analyze ${table}`));
}

interface Captured {
  sql: string;
  params: unknown[];
}

/** Runs the service once through a logging drizzle and returns the SQL it sent, in order. */
async function captureListSql(url: string, workspaceId: string): Promise<Captured[]> {
  const captured: Captured[] = [];
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    const db = drizzle({ client: pool, schema, logger: { logQuery: (q, params) => void captured.push({ sql: q, params }) } }) as unknown as Database;
    await listConversations(db, workspaceId, { status: "open", tag: TARGET_TAG }, { field: "created_at", direction: "desc" }, { page: 1, per_page: 20 });
  } finally {
    await pool.end();
  }
  return captured;
}

/**
 * The captured statements replayed as the service runs them (page and count together, then
 * the page's tags), by `ctx.connections` loops for `ctx.duration` seconds.
 */
async function raw(ctx: BenchContext, url: string, label: string, stmts: Captured[]): Promise<LoadResult> {
  const [page, total, tagsQ] = stmts;
  const pool = new Pool({ connectionString: url, max: ctx.connections });
  pool.on("error", () => {});
  const latencies: number[] = [];
  let failed = 0;
  const until = Date.now() + ctx.duration * 1000;
  const once = async () => {
    await Promise.all([pool.query(page!.sql, page!.params), pool.query(total!.sql, total!.params)]);
    if (tagsQ) await pool.query(tagsQ.sql, tagsQ.params);
  };
  try {
    await Promise.all(Array.from({ length: ctx.connections }, once)); // warm the connections
    const started = Date.now();
    await Promise.all(
      Array.from({ length: ctx.connections }, async () => {
        while (Date.now() < until) {
          const t0 = performance.now();
          try {
            await once();
            latencies.push(performance.now() - t0);
          } catch {
            failed++;
          }
        }
      }),
    );
    const secs = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
    return { label, rps: latencies.length / secs, p50: pct(50), p99: pct(99), requests: latencies.length, failed };
  } finally {
    await pool.end();
  }
}

async function explain(url: string, stmts: Captured[]): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    for (const [i, s] of stmts.entries()) {
      const r = await pool.query(`explain (analyze, buffers off, costs off, timing on) ${s.sql}`, s.params);
      const lines = r.rows.map((row: Record<string, string>) => Object.values(row)[0]);
      console.log(`\nplan of statement ${i + 1} (${s.sql.slice(0, 60)}…):\n  ${lines.join("\n  ")}`);
    }
  } finally {
    await pool.end();
  }
}

/**
 * The WebSocket→TCP proxy in a process of its own, as Neon's proxy is a machine of its own in
 * production: in the server's process its socket writes would compete with the API for the
 * event loop (they were half its busy time in a profile) and inflate the API's figures only.
 */
async function separateWsProxy(): Promise<{ address: string; stop(): void }> {
  const proxyModule = fileURLToPath(new URL("../lib/local/ws-proxy.ts", import.meta.url));
  const code = `const { startWsProxy } = await import(${JSON.stringify(proxyModule)}); const p = await startWsProxy(); console.log(p.address);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { address: chunk.toString().trim(), stop: () => void child.kill() };
}

export async function run(ctx: BenchContext): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.log("\ninbox: skipped — set DATABASE_URL to a PostgreSQL database (e.g. postgres://postgres@127.0.0.1:5432/parley_dev).");
    return;
  }
  const proxy = process.env.NEON_WS_PROXY ? undefined : await separateWsProxy();
  const server = await startBenchServer({ DATABASE_URL: url, NEON_WS_PROXY: process.env.NEON_WS_PROXY ?? proxy!.address });
  try {
    const t = await signUp(server.url);
    const t0 = Date.now();
    await seed(server.services.db, t.workspaceId);
    console.log(`\ninbox: seeded ${SEED} conversations in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const stmts = await captureListSql(url, t.workspaceId);
    if (stmts.length !== 3) throw new Error(`expected 3 statements (page, count, tags), captured ${stmts.length}`);
    if (process.env.BENCH_EXPLAIN) await explain(url, stmts);

    const path = `/v1/conversations?status=open&tag=${TARGET_TAG}&per_page=20`;
    const check = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${t.jwt}` } });
    const body = (await check.json()) as { data: unknown[]; meta: { total: number } };
    if (check.status !== 200 || body.data.length !== 20) throw new Error(`the list answered ${check.status} with ${body.data?.length} rows`);
    console.log(`inbox: ${body.meta.total} open conversations tagged ${TARGET_TAG}; 3 statements per request (page ‖ count, then tags)`);

    const results = [
      await raw(ctx, url, "same SQL raw (Neon driver)", stmts),
      await load(ctx, `GET ${path} (JWT)`, `${server.url}${path}`, { headers: { authorization: `Bearer ${t.jwt}` } }),
      await load(ctx, `GET ${path} (API key)`, `${server.url}${path}`, { headers: { authorization: `Bearer ${t.apiKey}` } }),
    ];
    printLoadTable(`inbox: ${server.services.describe.database}, ${ctx.connections} connections, ${ctx.duration} s each`, results);
    const [base, jwt, key] = results as [LoadResult, LoadResult, LoadResult];
    for (const r of [jwt, key]) {
      const ratio = r.p50 / base.p50;
      console.log(
        `${r.label}: p50 ${ratio.toFixed(2)}× raw, p99 ${(r.p99 / base.p99).toFixed(2)}× raw, throughput ${(base.rps / r.rps).toFixed(2)}× raw — target ≤ 1.5×: ${ratio <= 1.5 ? "met" : "MISSED"}`,
      );
    }
  } finally {
    // Let requests autocannon left in flight finish before the pool closes under them.
    await new Promise((r) => setTimeout(r, 1000));
    await server.dispose();
    proxy?.stop();
  }
}
