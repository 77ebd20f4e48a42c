// The job backbone on the local server (PGlite and the QStash log in a temp DATA_DIR, as with
// `npm start`): publish → delivery latency, one job at a time, and how long 10,000 jobs take
// from the first publish until every one is delivered and acknowledged. The job is a no-op
// built with createJobApp, so each delivery pays exactly the backbone: the real QStash Client
// publishing over HTTP, the local QStash server signing and delivering over HTTP, Receiver
// verification, zod, and the job_runs claim in its own transaction.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../lib/jobs";
import { type LocalServer, startServer } from "../lib/local/server";
import type { JobName } from "../lib/queue";

export const name = "jobs";
export const description = "publish → delivery latency (p50/p99) and 10,000 jobs delivered + acknowledged by a no-op job";
export const order = 50;

const BENCH_JOB = "bench" as JobName; // served beside the API at /jobs/bench
const LATENCY_SAMPLES = Number(process.env.BENCH_JOBS_SAMPLES) > 0 ? Number(process.env.BENCH_JOBS_SAMPLES) : 300;
const BULK = Number(process.env.BENCH_JOBS_BULK) > 0 ? Number(process.env.BENCH_JOBS_BULK) : 10_000;

const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;

export async function run(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-bench-jobs-"));
  const inMemory = process.env.BENCH_JOBS_MEMORY === "1";
  const arrived = new Map<number, number>();
  const noop = createJobApp(
    BENCH_JOB,
    z.object({ i: z.number().int() }),
    async (_tx, payload) => {
      arrived.set(payload.i, performance.now());
    },
    { summary: "bench", description: "bench" },
  );
  let server: LocalServer | undefined;
  server = await startServer({
    port: 0,
    dataDir: inMemory ? null : dataDir,
    environment: "development",
    // DATABASE_URL / REDIS_URL, when set, measure against real PostgreSQL / Redis instead.
    env: { RATE_LIMIT_PER_MINUTE: "1000000000", REQUEST_QUOTA: "off", ...pick(["DATABASE_URL", "REDIS_URL", "NEON_WS_PROXY"]) },
    extraRoutes: (req) => (new URL(req.url).pathname === "/jobs/bench" ? Promise.resolve(noop.fetch(req, { PARLEY_SERVICES: server!.services.provider })) : null),
  });
  try {
    const { queue } = server.services;
    const qstash = server.services.qstash!;
    let acked = 0;
    qstash.on("delivered", () => acked++);
    const base = `run-${Date.now()}`;

    // Warm-up (first connections, first transaction), not counted.
    for (let i = 0; i < 20; i++) await queue.publish(BENCH_JOB, { i: -1 - i }, { deduplicationId: `${base}-warm-${i}` });
    await qstash.idle();

    // 1. Latency: one job at a time, from the publish call until the job's handler runs.
    const lat: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const t0 = performance.now();
      await queue.publish(BENCH_JOB, { i }, { deduplicationId: `${base}-lat-${i}` });
      while (!arrived.has(i)) await new Promise((r) => setImmediate(r));
      lat.push(arrived.get(i)! - t0);
    }
    await qstash.idle();
    lat.sort((a, b) => a - b);

    // 2. Throughput: BULK jobs published in batches of 100, until every one is acknowledged.
    acked = 0;
    const t0 = performance.now();
    const items = Array.from({ length: BULK }, (_, k) => ({ job: BENCH_JOB, payload: { i: 1_000_000 + k }, deduplicationId: `${base}-bulk-${k}` }));
    await queue.publishBatch(items);
    const published = performance.now() - t0;
    while (acked < BULK) await new Promise((r) => setTimeout(r, 5));
    const total = performance.now() - t0;

    console.log(`\njobs: ${server.services.describe.database}; local QStash server with its log in DATA_DIR; no-op job over HTTP`);
    console.log(`  publish → delivery, ${LATENCY_SAMPLES} jobs one at a time   p50 ${ms(pct(lat, 50))}   p99 ${ms(pct(lat, 99))}   max ${ms(lat[lat.length - 1]!)}`);
    console.log(`  ${BULK.toLocaleString("en")} jobs (batches of 100)               published in ${(published / 1000).toFixed(2)} s; all delivered and acknowledged in ${(total / 1000).toFixed(2)} s (${Math.round(BULK / (total / 1000))} jobs/s)`);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// `npx tsx bench/jobs.bench.ts` runs this section alone.
if (import.meta.url === `file://${process.argv[1]}`) await run();
