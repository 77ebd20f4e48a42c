// `npm run bench -- edge`: database round trips per request of the main endpoints, and their time
// with a simulated edge↔database round trip, through the Workers' per-request services (a fresh
// database per request, as on Workers) against real PostgreSQL: "before" with every statement over
// the WebSocket Pool (NEON_HTTP=off), "after" with statements over Neon's HTTP transport and the
// Pool only for interactive transactions. Both stand-ins (lib/local/ws-proxy.ts,
// lib/local/neon-http-proxy.ts) add the delay (BENCH_RTT_MS, default 25): each HTTP fetch waits it
// once; a WebSocket waits it at the upgrade and before each frame the driver sends (startup and
// the SCRAM exchange are 3 frames against local PostgreSQL; Neon pipelines its startup). Redis is
// in memory and jobs are not delivered, so only the database is counted.
import type { Env } from "../lib/env";
import { memoryKv } from "../lib/kv";
import { createDispatch } from "../lib/local/dispatch";
import { startNeonHttpProxy } from "../lib/local/neon-http-proxy";
import { useNodeWebSockets } from "../lib/local/neon-node";
import { createLocalServices } from "../lib/local/services";
import { startWsProxy } from "../lib/local/ws-proxy";
import type { ServiceProvider } from "../lib/services";
import { workerServices } from "../lib/worker";
import type { BenchContext } from "./support";

export const name = "edge";
export const description = "database round trips per endpoint and time at a simulated RTT: WebSocket Pool vs Neon HTTP (needs DATABASE_URL)";
export const order = 90;

const BASE = "http://127.0.0.1:8787";
const RUNS = Number(process.env.BENCH_EDGE_RUNS) > 0 ? Number(process.env.BENCH_EDGE_RUNS) : 5;
/** Time for a request's background work (events, usage) to finish before the next is counted. */
const SETTLE_MS = 300;

interface Row {
  endpoint: string;
  mode: "before" | "after";
  fetches: number;
  connects: number;
  frames: number;
  p50: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(_ctx: BenchContext): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.log("\nedge: skipped — set DATABASE_URL to a PostgreSQL database (e.g. postgres://postgres@127.0.0.1:5432/parley_dev).");
    return;
  }
  const rtt = Number(process.env.BENCH_RTT_MS ?? process.env.NEON_PROXY_DELAY_MS ?? 25);
  useNodeWebSockets();
  // Queue, model and storage from the local services (QStash paused: no job runs during the bench).
  const local = await createLocalServices({ dataDir: null, env: { DATABASE_URL: url, NEON_HTTP: "off" }, environment: "development", jobDelivery: "http" });
  const ws = await startWsProxy(0, { delayMs: 0 });
  const http = await startNeonHttpProxy({ delayMs: 0 });
  const kv = memoryKv();
  const dispatchFor = (env: Env) => {
    const worker = workerServices();
    const provider: ServiceProvider = (ctx) => {
      const s = worker(ctx);
      const l = local.provider(ctx);
      return new Proxy(s, { get: (t, k, r) => (k === "kv" ? kv : k === "queue" || k === "llm" ? Reflect.get(l, k) : Reflect.get(t, k, r)) });
    };
    return createDispatch(provider, env);
  };
  const envFor = (mode: Row["mode"]): Env => ({
    DATABASE_URL: url,
    NEON_WS_PROXY: ws.address,
    NEON_HTTP_PROXY: http.address,
    ...(mode === "before" ? { NEON_HTTP: "off" } : {}),
    JWT_SECRET: local.config.jwtSecret,
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "unused",
    RATE_LIMIT_PER_MINUTE: "1000000000",
    REQUEST_QUOTA: "off",
  });

  const call = async (env: Env, method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await dispatchFor(env)(new Request(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };

  // A tenant with a few conversations, messages and contacts (set up without delay).
  const setup = envFor("after");
  const email = `edge-${Date.now().toString(36)}@example.com`;
  const password = "bench-password-123";
  const ws0 = await call(setup, "POST", "/v1/workspaces", { name: "Edge bench", owner: { name: "Bench Owner", email, password } });
  const token: string = ws0.access_token;
  const convs: string[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await call(setup, "POST", "/v1/conversations", { title: `Order ${i} delayed`, source: "api" }, token);
    convs.push(c.id);
    for (let j = 0; j < 3; j++) await call(setup, "POST", `/v1/conversations/${c.id}/messages`, { content: `Where is my parcel ${i}-${j}?`, sender_type: "contact" }, token);
  }
  let n = 0;
  const endpoints: Array<{ label: string; go: (env: Env) => Promise<unknown> }> = [
    { label: "POST /v1/auth/token (sign-in)", go: (env) => call(env, "POST", "/v1/auth/token", { email, password }) },
    { label: "GET /v1/conversations", go: (env) => call(env, "GET", "/v1/conversations", undefined, token) },
    { label: "GET /v1/conversations/{id}", go: (env) => call(env, "GET", `/v1/conversations/${convs[0]}`, undefined, token) },
    { label: "GET /v1/conversations/{id}/messages", go: (env) => call(env, "GET", `/v1/conversations/${convs[0]}/messages`, undefined, token) },
    {
      label: "POST /v1/conversations/{id}/messages",
      go: (env) => call(env, "POST", `/v1/conversations/${convs[1]}/messages`, { content: `Any news? ${n++}`, sender_type: "contact" }, token),
    },
    { label: "POST /v1/conversations/search", go: (env) => call(env, "POST", "/v1/conversations/search", { query: "parcel" }, token) },
    { label: "POST /v1/contacts", go: (env) => call(env, "POST", "/v1/contacts", { name: `Ada ${n}`, email: `ada-${Date.now().toString(36)}-${n++}@customer.example` }, token) },
    { label: "GET /v1/contacts", go: (env) => call(env, "GET", "/v1/contacts", undefined, token) },
    { label: "POST /v1/conversations", go: (env) => call(env, "POST", "/v1/conversations", { title: `New ${n++}`, source: "api" }, token) },
  ];

  const rows: Row[] = [];
  ws.delayMs = rtt;
  http.delayMs = rtt;
  for (const e of endpoints) {
    for (const mode of ["before", "after"] as const) {
      const env = envFor(mode);
      await e.go(env); // warm: module state, statement plans
      await sleep(SETTLE_MS);
      const ms: number[] = [];
      let fetches = 0;
      let connects = 0;
      let frames = 0;
      for (let i = 0; i < RUNS; i++) {
        const before = { f: http.stats.fetches, c: ws.stats.connections, m: ws.stats.messages };
        const started = performance.now();
        await e.go(env);
        ms.push(performance.now() - started);
        // Counted when the response is back: what the client waited for (the Pool's Terminate and
        // background work after the response are not).
        fetches += http.stats.fetches - before.f;
        connects += ws.stats.connections - before.c;
        frames += ws.stats.messages - before.m;
        await sleep(SETTLE_MS);
      }
      rows.push({ endpoint: e.label, mode, fetches: fetches / RUNS, connects: connects / RUNS, frames: frames / RUNS, p50: median(ms) });
    }
  }
  ws.delayMs = 0;
  http.delayMs = 0;

  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  const trips = (r: Row) => r.fetches + r.connects + r.frames;
  console.log(`\nedge: database round trips per request and median time (${RUNS} runs) with a simulated ${rtt} ms RTT, Workers' services on PostgreSQL`);
  console.log("round trips = HTTP fetches + WebSocket connects + frames sent over the socket (startup/auth included)");
  const head = ["endpoint", "before: ws conn", "frames", "trips", "ms", "after: fetches", "ws conn", "frames", "trips", "ms"];
  const table = endpoints.map((e) => {
    const b = rows.find((r) => r.endpoint === e.label && r.mode === "before")!;
    const a = rows.find((r) => r.endpoint === e.label && r.mode === "after")!;
    return [e.label, fmt(b.connects), fmt(b.frames), fmt(trips(b)), b.p50.toFixed(0), fmt(a.fetches), fmt(a.connects), fmt(a.frames), fmt(trips(a)), a.p50.toFixed(0)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  for (const row of table) console.log(line(row));
  console.log("\n| endpoint | before: round trips | before: ms | after: round trips (fetches + ws) | after: ms |");
  console.log("|---|---:|---:|---:|---:|");
  for (const e of endpoints) {
    const b = rows.find((r) => r.endpoint === e.label && r.mode === "before")!;
    const a = rows.find((r) => r.endpoint === e.label && r.mode === "after")!;
    console.log(`| ${e.label} | ${fmt(trips(b))} | ${b.p50.toFixed(0)} | ${fmt(trips(a))} (${fmt(a.fetches)} + ${fmt(a.connects + a.frames)}) | ${a.p50.toFixed(0)} |`);
  }

  await http.close();
  await ws.close();
  await local.close();
}
