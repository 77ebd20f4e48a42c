// Shared parts of the benchmarks: a local server with a bare Hono route beside the API (the
// baseline every figure is compared with), sign-up, an autocannon run, and a table printer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { Hono } from "hono";
import { type LocalServer, startServer } from "../lib/local/server";

export interface BenchContext {
  /** Seconds per load run (BENCH_DURATION, default 10). */
  duration: number;
  /** Concurrent connections per load run (BENCH_CONNECTIONS, default 10). */
  connections: number;
}

export interface BenchModule {
  /** What `npm run bench -- <name>` selects. */
  name: string;
  /** One line on what the section measures. */
  description: string;
  /** Sections run in ascending order (then by name); default 100. */
  order?: number;
  run(ctx: BenchContext): Promise<void>;
}

export const HELLO_PATH = "/__bench/hello";

export interface BenchServer extends LocalServer {
  dispose(): Promise<void>;
}

/**
 * The local server (embedded PGlite in a temp DATA_DIR unless `env` names real services) with
 * `GET /__bench/hello` answered by a bare Hono app: no request id, auth, database or limits.
 */
export async function startBenchServer(env: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-bench-"));
  const hello = new Hono().get(HELLO_PATH, (c) => c.text("hello"));
  // The rate limiter still runs on every request, it just never says no.
  // DATABASE_URL / REDIS_URL in the environment put every section on real PostgreSQL / Redis.
  const real = Object.fromEntries(["DATABASE_URL", "REDIS_URL"].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  const serverEnv: Record<string, string> = { PARLEY_BENCH: "1", RATE_LIMIT_PER_MINUTE: "1000000000", REQUEST_QUOTA: "off", ...real, ...env };
  const server = await startServer({
    port: 0,
    dataDir,
    environment: "development",
    env: serverEnv,
    extraRoutes: (req) => (new URL(req.url).pathname.startsWith("/__bench/") ? Promise.resolve(hello.fetch(req)) : null),
  });
  return {
    ...server,
    dispose: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function api<T = any>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

export interface Tenant {
  workspaceId: string;
  email: string;
  password: string;
  jwt: string;
  apiKey: string;
}

/** A fresh workspace with an owner's access token and an API key. */
export async function signUp(base: string): Promise<Tenant> {
  const email = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const password = "bench-password-123";
  const ws = await api(base, "POST", "/v1/workspaces", { name: "Bench", owner: { name: "Bench Owner", email, password } });
  const key = await api(base, "POST", "/v1/api-keys", { name: "bench", scopes: ["read", "write"] }, ws.access_token);
  return { workspaceId: ws.workspace.id, email, password, jwt: ws.access_token, apiKey: key.key };
}

export interface LoadResult {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Non-2xx answers, errors and timeouts: a run with any is not a clean figure. */
  failed: number;
}

/** Drives `url` for ctx.duration seconds with ctx.connections connections, from a worker thread. */
export async function load(ctx: BenchContext, label: string, url: string, opts: { method?: "GET" | "POST"; headers?: Record<string, string>; body?: string } = {}): Promise<LoadResult> {
  const r = await autocannon({
    url,
    method: opts.method ?? "GET",
    headers: opts.headers,
    body: opts.body,
    connections: ctx.connections,
    duration: ctx.duration,
    // Its own thread: the load generator must not share the server's event loop.
    workers: 1,
  });
  return {
    label,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    failed: r.non2xx + r.errors + r.timeouts,
  };
}

/** Prints results with each run's cost relative to the first (the baseline). */
export function printLoadTable(title: string, results: LoadResult[]): void {
  const base = results[0];
  const rows = results.map((r) => [
    r.label,
    r.rps.toFixed(0),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    String(r.requests),
    String(r.failed),
    base && r !== base ? `${(base.rps / r.rps).toFixed(1)}×` : "1.0×",
  ]);
  const head = ["target", "req/s", "p50 ms", "p99 ms", "requests", "failed", "vs baseline (req/s)"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\n${title}`);
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}
