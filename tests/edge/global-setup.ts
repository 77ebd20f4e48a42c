// Once per `npm run test:edge`: applies migrations and starts the local adapters the Workers
// reach real services through (for the Neon driver: its HTTP query endpoint and WebSocket→TCP;
// Upstash REST for redis-server). Bundles are built on demand by support.ts's startWorker.
import type { TestProject } from "vitest/node";
import { startNeonHttpProxy } from "../../lib/local/neon-http-proxy";
import { startUpstashRest } from "../../lib/local/upstash-rest";
import { startWsProxy } from "../../lib/local/ws-proxy";
import { migrateDatabase } from "../../scripts/migrate";

export interface EdgeContext {
  /** Why the suite is skipped, or null when it runs. */
  skip: string | null;
  databaseUrl: string;
  wsProxy: string;
  /** The stand-in for Neon's HTTP query endpoint (what NEON_HTTP_PROXY takes). */
  httpProxy: string;
  redisRestUrl: string;
  redisRestToken: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    edge: EdgeContext;
  }
}

export default async function setup(project: TestProject) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const skip = "DATABASE_URL is not set: the workerd tests need a real PostgreSQL (CI sets it; locally e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_dev REDIS_URL=redis://127.0.0.1:6379 npm run test:edge)";
    console.warn(`\n[test:edge] skipped: ${skip}\n`);
    project.provide("edge", { skip, databaseUrl: "", wsProxy: "", httpProxy: "", redisRestUrl: "", redisRestToken: "" });
    return;
  }

  const proxy = await startWsProxy();
  await migrateDatabase({ DATABASE_URL: databaseUrl, NEON_WS_PROXY: proxy.address });
  const http = await startNeonHttpProxy();
  const rest = await startUpstashRest(process.env.REDIS_URL || "redis://127.0.0.1:6379");
  project.provide("edge", { skip: null, databaseUrl, wsProxy: proxy.address, httpProxy: http.address, redisRestUrl: rest.url, redisRestToken: rest.token });

  return async () => {
    await rest.close();
    await http.close();
    await proxy.close();
  };
}
