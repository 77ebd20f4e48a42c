// A function's Cloudflare Worker entry: validates the bindings once, then gives every
// request its services (Neon over HTTP, a Neon Pool for that request's transactions only, Upstash Redis).
// Areas that need more (queue, llm, mail, storage) pass extra factories.
import type { Hono } from "hono";
import { z } from "zod";
import { dbTimeouts, neonDatabase, neonEdgeDatabase, useLocalHttpProxy, useLocalWsProxy, usesHttp } from "./db-neon";
import type { Database } from "./db";
import type { AppEnv, Env } from "./env";
import { DependencyError, errorResponse } from "./errors";
import { newId } from "./ids";
import { type Kv, redisTimeoutMs, upstashKv } from "./kv";
import { type R2Like, r2Storage, type Storage } from "./storage";
import { DEFAULT_MAILGUN_URL } from "./mailgun";
import { DEFAULT_GRAPH_URL } from "./whatsapp";
import { type Config, lazy, type ServiceProvider, type ServiceRequestContext, type Services } from "./services";
import { AUTH_FAILURES_PER_MINUTE } from "./auth";

const RequiredBindings = z.object({
  DATABASE_URL: z.string().min(1, "DATABASE_URL is required"),
  JWT_SECRET: z.string().min(32, "JWT_SECRET is required (at least 32 characters)"),
  UPSTASH_REDIS_REST_URL: z.string().url("UPSTASH_REDIS_REST_URL is required"),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1, "UPSTASH_REDIS_REST_TOKEN is required"),
});

export type ExtraServices = (services: Services, ctx: ServiceRequestContext) => void;

export function workerConfig(env: Env): Config {
  return {
    environment: env.ENVIRONMENT === "development" || env.ENVIRONMENT === "test" ? env.ENVIRONMENT : "production",
    jwtSecret: env.JWT_SECRET ?? "",
    publicBaseUrl: env.PUBLIC_BASE_URL?.replace(/\/+$/, ""),
    rateLimitPerMinute: Number(env.RATE_LIMIT_PER_MINUTE) > 0 ? Number(env.RATE_LIMIT_PER_MINUTE) : 1000,
    authFailuresPerMinute: Number(env.AUTH_FAILURES_PER_MINUTE) > 0 ? Number(env.AUTH_FAILURES_PER_MINUTE) : AUTH_FAILURES_PER_MINUTE,
    filesSigningKey: env.FILES_SIGNING_KEY,
    webhooksAllowPrivateTargets: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS === "true",
    whatsapp: { graphUrl: env.WHATSAPP_GRAPH_URL || DEFAULT_GRAPH_URL, appSecret: env.WHATSAPP_APP_SECRET || undefined, verifyToken: env.WHATSAPP_VERIFY_TOKEN || undefined },
    mailgunWebhookSigningKey: env.MAILGUN_WEBHOOK_SIGNING_KEY || undefined,
    mailgun: { baseUrl: env.MAILGUN_BASE_URL || DEFAULT_MAILGUN_URL, apiKey: env.MAILGUN_API_KEY || undefined, domain: env.MAILGUN_DOMAIN || undefined },
    ...(env.QSTASH_CURRENT_SIGNING_KEY && env.QSTASH_NEXT_SIGNING_KEY
      ? { qstashSigningKeys: { current: env.QSTASH_CURRENT_SIGNING_KEY, next: env.QSTASH_NEXT_SIGNING_KEY } }
      : {}),
  };
}

/**
 * One Upstash client per isolate and credentials, shared by its requests: it holds no request's
 * I/O (each command is its own fetch), and the rate limiter keeps what it learned of each
 * caller per client (lib/rate-limit.ts), which a client per request would throw away.
 */
const kvClients = new Map<string, Kv>();
export function isolateKv(url: string, token: string, timeoutMs?: number): Kv {
  const key = `${url}\n${token}\n${timeoutMs ?? ""}`;
  let kv = kvClients.get(key);
  if (!kv) {
    kv = upstashKv(url, token, { timeoutMs });
    kvClients.set(key, kv);
  }
  return kv;
}

/** Without the FILES binding every storage call is a dependency failure (503), not a crash. */
const missingBucket: R2Like = {
  put: () => Promise.reject(new DependencyError("storage: the FILES R2 binding is not configured")),
  get: () => Promise.reject(new DependencyError("storage: the FILES R2 binding is not configured")),
  delete: () => Promise.reject(new DependencyError("storage: the FILES R2 binding is not configured")),
};

type OpenDatabase = (env: Env) => { db: Database; close(): Promise<void> };

/** Every statement over a WebSocket Pool (connect, upgrade, startup and auth first). */
const poolDatabase: OpenDatabase = (env) => {
  useLocalWsProxy(env.NEON_WS_PROXY);
  return neonDatabase(env.DATABASE_URL!, { timeouts: dbTimeouts(env) });
};

/**
 * Statements over Neon's HTTP transport (a fetch each, no connection to open); a WebSocket Pool
 * only once an interactive transaction starts (lib/db-neon.ts). See usesHttp for when.
 */
const edgeDatabase: OpenDatabase = (env) => {
  if (!usesHttp(env)) return poolDatabase(env);
  useLocalWsProxy(env.NEON_WS_PROXY);
  useLocalHttpProxy(env.NEON_HTTP_PROXY);
  return neonEdgeDatabase(env.DATABASE_URL!, { timeouts: dbTimeouts(env) });
};

function servicesWith(openDatabase: OpenDatabase, extras: ExtraServices[]): ServiceProvider {
  return (ctx) => {
    const { env } = ctx;
    const base = { config: workerConfig(env), waitUntil: ctx.waitUntil } as Services;
    const held: Promise<unknown>[] = [];
    base.holdOpen = (p) => void held.push(p.catch(() => undefined));
    lazy(base, "db", () => {
      const { db, close } = openDatabase(env);
      // The pool belongs to this request (a module-level Pool hangs the next request in workerd):
      // it is closed once the response, and any stream it holds open, is done.
      ctx.defer(async () => {
        await Promise.all(held);
        await close();
      });
      return db;
    });
    lazy(base, "kv", (): Kv => isolateKv(env.UPSTASH_REDIS_REST_URL!, env.UPSTASH_REDIS_REST_TOKEN!, redisTimeoutMs(env)));
    lazy(base, "storage", (): Storage => r2Storage(env.FILES ?? missingBucket));
    for (const add of extras) add(base, ctx);
    return base;
  };
}

/** Builds services lazily: a request that never touches the database opens no connection. */
export function workerServices(...extras: ExtraServices[]): ServiceProvider {
  return servicesWith(edgeDatabase, extras);
}

/** workerServices with every statement over the WebSocket Pool (see createPoolWorker). */
export function poolWorkerServices(...extras: ExtraServices[]): ServiceProvider {
  return servicesWith(poolDatabase, extras);
}

function workerWith(app: Hono<AppEnv>, provider: ServiceProvider) {
  let checked: string | null | undefined;
  return {
    fetch(request: Request, env: Env, ctx: ExecutionContext) {
      if (checked === undefined) {
        const r = RequiredBindings.safeParse(env);
        checked = r.success ? null : r.error.issues.map((i) => i.message).join("; ");
      }
      if (checked) {
        const rid = newId("req");
        console.error(JSON.stringify({ msg: `Worker misconfigured: ${checked}`, request_id: rid }));
        return errorResponse("internal_error", "The service is misconfigured. Quote the request id if you contact support.", rid);
      }
      return app.fetch(request, { ...env, PARLEY_SERVICES: env.PARLEY_SERVICES ?? provider }, ctx);
    },
  };
}

/** `extras` add the services only some functions need (queue, llm), so only they bundle them. */
export function createWorker(app: Hono<AppEnv>, ...extras: ExtraServices[]) {
  return workerWith(app, workerServices(...extras));
}

/**
 * A Worker whose statements all go over the WebSocket Pool: the HTTP transport's code (~1.4 KiB
 * gzip) is left out of its bundle. For a function no client waits on, whose bundle is at the
 * size budget (jobs-exports: QStash delivers its chunks; pdf-lib fills its bundle).
 */
export function createPoolWorker(app: Hono<AppEnv>, ...extras: ExtraServices[]) {
  return workerWith(app, poolWorkerServices(...extras));
}
