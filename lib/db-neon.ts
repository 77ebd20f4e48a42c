// drizzle over `@neondatabase/serverless`: used by Workers (Neon over WebSockets) and, through
// a local WebSocket→TCP proxy, against the PostgreSQL running on this machine in CI.
import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "../schema";
import type { Database } from "./db";

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

export function neonDatabase(url: string, opts: { max?: number } = {}): { db: Database; close(): Promise<void> } {
  const pool = new Pool({ connectionString: url, max: opts.max ?? 5 });
  // An idle client's socket error must not crash the process; the next query reports it.
  pool.on("error", () => {});
  const db = drizzle({ client: pool, schema }) as unknown as Database;
  return { db, close: () => pool.end() };
}
