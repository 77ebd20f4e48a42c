// drizzle over `@neondatabase/serverless`: used by Workers (Neon) and, through local stand-ins
// (a WebSocket→TCP proxy, lib/local/ws-proxy.ts, and an HTTP query endpoint,
// lib/local/neon-http-proxy.ts), against the PostgreSQL running on this machine.
// Two transports: HTTP (`neon()`: one fetch per statement or per non-interactive batch, no
// connection to open) for everything outside interactive transactions, and the WebSocket Pool
// (connect, upgrade, startup and auth before the first statement) only for `db.transaction`,
// opened when a transaction actually starts.
import { neon, neonConfig, Pool, type PoolClient } from "@neondatabase/serverless";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "../schema";
import type { Database } from "./db";
import { DependencyError } from "./errors";

let configuredProxy: string | undefined;

/**
 * Points the driver at a local proxy (`host:port`) instead of Neon's: plain ws://, and no
 * pipelining (local PostgreSQL authenticates with SCRAM, which pipelined connect breaks).
 */
export function useLocalWsProxy(proxy: string | undefined): void {
  if (!proxy || configuredProxy === proxy) return;
  configuredProxy = proxy;
  neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

let configuredHttpProxy: string | undefined;

/** Points `neon()` at a local HTTP stand-in (`host:port`, plain http) instead of Neon's `https://api.<host>/sql`. */
export function useLocalHttpProxy(proxy: string | undefined): void {
  if (!proxy || configuredHttpProxy === proxy) return;
  configuredHttpProxy = proxy;
  neonConfig.fetchEndpoint = () => `http://${proxy}/sql`;
}

/** How long a connection may take to be ready, and a statement to answer (milliseconds). */
export interface DbTimeouts {
  connectMs: number;
  queryMs: number;
}
export const DB_CONNECT_TIMEOUT_MS = 5_000;
export const DB_QUERY_TIMEOUT_MS = 15_000;

/** DB_CONNECT_TIMEOUT_MS and DB_QUERY_TIMEOUT_MS from the environment (positive numbers), else the defaults. */
export function dbTimeouts(env: { DB_CONNECT_TIMEOUT_MS?: string; DB_QUERY_TIMEOUT_MS?: string }): DbTimeouts {
  const ms = (v: string | undefined, fallback: number) => (Number(v) > 0 ? Number(v) : fallback);
  return { connectMs: ms(env.DB_CONNECT_TIMEOUT_MS, DB_CONNECT_TIMEOUT_MS), queryMs: ms(env.DB_QUERY_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS) };
}

export const QUERY_TIMEOUT_MESSAGE = "Query read timeout";

/**
 * pg's query_timeout answers the caller but leaves the statement active on the connection: what
 * comes next on it (a transaction's rollback, the next request's statements) would queue behind
 * it and time out in turn. The connection is closed instead, so everything queued on it fails at
 * once, the pool drops it, and the database rolls back an open transaction.
 */
function closeOnQueryTimeout(client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const close = (err: unknown) => {
    if (err instanceof Error && err.message === QUERY_TIMEOUT_MESSAGE) {
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  };
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === "function") {
      args[last] = (err: unknown, res: unknown) => {
        if (err) close(err);
        (callback as (e: unknown, r: unknown) => void)(err, res);
      };
      return query(...args);
    }
    const out = query(...args);
    if (out && typeof (out as Promise<unknown>).then === "function") (out as Promise<unknown>).then(undefined, close);
    return out;
  };
}

export function neonDatabase(url: string, opts: { max?: number; timeouts?: DbTimeouts } = {}): { db: Database; close(): Promise<void> } {
  const timeouts = opts.timeouts ?? dbTimeouts({});
  const pool = new Pool({
    connectionString: url,
    max: opts.max ?? 5,
    // A database that accepts the connection but never answers: the request gets a 503 after this, not minutes later.
    connectionTimeoutMillis: timeouts.connectMs,
    query_timeout: timeouts.queryMs,
  });
  // An idle client's socket error must not crash the process; the next query reports it.
  pool.on("error", () => {});
  pool.on("connect", (client: PoolClient) => {
    // A checked-out client has no listener of the pool's: its socket closing (the database gone
    // mid-transaction, or closeOnQueryTimeout) would be an uncaught 'error' that ends the process.
    // Its queries fail on their own ("not queryable"), and the pool drops it when it is released.
    client.on("error", () => {});
    closeOnQueryTimeout(client);
  });
  const db = drizzle({ client: pool, schema }) as unknown as Database;
  return { db, close: () => pool.end() };
}

/**
 * Whether statements go over HTTP: on Neon (no NEON_WS_PROXY) always; against a local
 * PostgreSQL only when NEON_HTTP_PROXY names the HTTP stand-in; never with NEON_HTTP=off.
 */
export function usesHttp(env: { NEON_WS_PROXY?: string; NEON_HTTP_PROXY?: string; NEON_HTTP?: string }): boolean {
  if (env.NEON_HTTP === "off") return false;
  return !!env.NEON_HTTP_PROXY || !env.NEON_WS_PROXY;
}

export interface EdgeDatabase {
  db: Database;
  /** Whether the WebSocket Pool was opened (a transaction ran). */
  readonly poolOpened: boolean;
  close(): Promise<void>;
}

/** A fetch bound to a statement's deadline: a database that never answers is a TimeoutError (→ 503). */
function deadline(queryMs: number) {
  return { fetchOptions: { signal: AbortSignal.timeout(queryMs) } };
}

/**
 * drizzle over Neon's HTTP transport, with `db.transaction` on a WebSocket Pool opened on first
 * use: a request that runs no interactive transaction opens no connection at all. Each statement
 * (or `db.batch([...])`, one transaction in one fetch) is bounded by the query timeout.
 */
export function neonEdgeDatabase(url: string, opts: { max?: number; timeouts?: DbTimeouts } = {}): EdgeDatabase {
  const timeouts = opts.timeouts ?? dbTimeouts({});
  const sql = neon(url);
  type Opts = Record<string, unknown> | undefined;
  // Closed, the HTTP side refuses too, as the Pool does (the endpoint itself may be shared and still up).
  // Synchronous: `sql.query` gives a lazy query that `sql.transaction` runs in a batch.
  let closed = false;
  const open = () => {
    if (closed) throw new DependencyError("connection closed: this database was closed");
  };
  // drizzle calls `client.query(text, params, opts)` per statement and `client.transaction(queries, opts)` per batch.
  const client = Object.assign(
    (...args: Parameters<typeof sql>) => {
      open();
      return sql(...args);
    },
    {
      query: (text: string, params: unknown[], o?: Opts) => {
        open();
        return sql.query(text, params, { ...o, ...deadline(timeouts.queryMs) });
      },
      transaction: (queries: Parameters<typeof sql.transaction>[0], o?: Opts) => {
        open();
        return sql.transaction(queries, { ...o, ...deadline(timeouts.queryMs) });
      },
    },
  );
  const db = drizzleHttp({ client: client as unknown as typeof sql, schema });
  let pool: { db: Database; close(): Promise<void> } | undefined;
  const poolDb = () => (pool ??= neonDatabase(url, { max: opts.max, timeouts }));
  // Interactive transactions (read, decide, write under the same snapshot and locks) need a session.
  (db as unknown as { transaction: Database["transaction"] }).transaction = ((fn, config) => poolDb().db.transaction(fn, config)) as Database["transaction"];
  return {
    db: db as unknown as Database,
    get poolOpened() {
      return pool !== undefined;
    },
    close: async () => {
      closed = true;
      await pool?.close();
    },
  };
}
