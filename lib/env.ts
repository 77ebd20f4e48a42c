// The bindings a Parley function receives (Workers env vars and secrets; the local server
// passes the same names from process.env) and the one app-wide Hono env type.
import type { Context } from "hono";
import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Principal } from "./auth";
import type { ServiceProvider, Services } from "./services";

export interface Env {
  ENVIRONMENT?: string;
  DATABASE_URL?: string;
  /** Only for local PostgreSQL: host:port of a WebSocket→TCP proxy for the Neon driver. */
  NEON_WS_PROXY?: string;
  /** Only for local PostgreSQL: host:port of the stand-in for Neon's HTTP query endpoint (lib/local/neon-http-proxy.ts). */
  NEON_HTTP_PROXY?: string;
  /** `off`: every statement over the WebSocket Pool, none over Neon's HTTP transport (for comparisons). */
  NEON_HTTP?: string;
  /** Milliseconds a database connection may take to be ready (default 5000) and a statement to answer (default 15000). */
  DB_CONNECT_TIMEOUT_MS?: string;
  DB_QUERY_TIMEOUT_MS?: string;
  JWT_SECRET?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Milliseconds a Redis command may take, retry included (default 2000). */
  REDIS_TIMEOUT_MS?: string;
  QSTASH_URL?: string;
  QSTASH_TOKEN?: string;
  QSTASH_CURRENT_SIGNING_KEY?: string;
  QSTASH_NEXT_SIGNING_KEY?: string;
  PUBLIC_BASE_URL?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  OPENAI_MODEL?: string;
  MAILGUN_API_KEY?: string;
  MAILGUN_DOMAIN?: string;
  MAILGUN_BASE_URL?: string;
  MAILGUN_WEBHOOK_SIGNING_KEY?: string;
  WHATSAPP_GRAPH_URL?: string;
  WHATSAPP_APP_SECRET?: string;
  WHATSAPP_VERIFY_TOKEN?: string;
  /** HMAC key of signed file download URLs. */
  FILES_SIGNING_KEY?: string;
  /** "true": webhook targets may resolve to private, loopback or link-local addresses. */
  WEBHOOKS_ALLOW_PRIVATE_TARGETS?: string;
  /** R2 bucket of stored files (uploads, attachments, exports). */
  FILES?: import("./storage").R2Like;
  RATE_LIMIT_PER_MINUTE?: string;
  AUTH_FAILURES_PER_MINUTE?: string;
  /** "off": API requests are counted but the plan's daily quota is not enforced (benchmarks). */
  REQUEST_QUOTA?: string;
  /** Workers static assets (the docs function serves Scalar's standalone bundle from it). */
  ASSETS?: { fetch(req: Request | string): Promise<Response> };
  /** Node stand-in for ASSETS (the local server and tests): serves the docs' static files. */
  DOCS_ASSETS?: DocsAssetSource;
  /** Injected by the local server and tests: builds services without the Worker defaults. */
  PARLEY_SERVICES?: ServiceProvider;
  /**
   * Set per request by the local server: the caller's address, from the socket (or, with
   * TRUST_PROXY=1, from X-Forwarded-For). Request headers cannot override it.
   */
  PARLEY_CLIENT_ADDRESS?: string;
  /** Local server behind a reverse proxy: take the client's address from X-Forwarded-For ("1"). */
  TRUST_PROXY?: string;
}

/** Static files by URL path, like Workers' static assets binding (a 404 when absent). */
export interface DocsAssetSource {
  fetch(req: Request | string): Promise<Response>;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** performance.now() when the request entered the app (for Server-Timing). */
    startedAt: number;
    services: Services;
    principal: Principal;
  };
}

export type AppContext = Context<AppEnv>;
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
