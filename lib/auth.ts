// Who is calling. One middleware accepts the three credentials of the contract (API key,
// JWT access token, session cookie), resolves them to a principal of one workspace, and
// refuses everything under /v1 that is not on the short public list. Role and scope guards
// are small middleware on top.
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { sign, verify } from "hono/jwt";
import { agents, apiKeys, authSessions } from "../schema";
import { ApiError, describeError } from "./errors";
import { clientAddress } from "./rate-limit";
import type { AppEnv } from "./env";
import type { Services } from "./services";
import { credentialCache } from "./credential-cache";
import { sha256Hex } from "./ids";
import { CONTENT_PATH } from "./signed-url";

export type Role = "owner" | "admin" | "agent";
export type Scope = "read" | "write" | "admin";
export const SCOPES: readonly Scope[] = ["read", "write", "admin"];

export interface Principal {
  workspaceId: string;
  role: Role;
  scopes: readonly Scope[];
  via: "api_key" | "jwt" | "cookie";
  /** The agent acting (absent for API keys). */
  agentId?: string;
  apiKeyId?: string;
}

export const SESSION_COOKIE = "parley_session";
export const ACCESS_TOKEN_TTL = 15 * 60;

const ROLE_RANK: Record<Role, number> = { agent: 1, admin: 2, owner: 3 };

// Routes anyone may call: sign-up and the credential exchanges themselves, and signed file
// links (the signature in the query is the authorization; functions/files/files.ts checks it).
const PUBLIC_ROUTES: ReadonlyArray<[string, RegExp]> = [
  ["POST", /^\/v1\/workspaces\/?$/],
  ["POST", /^\/v1\/auth\/(token|refresh|revoke|login|logout)\/?$/],
  ["GET", CONTENT_PATH],
];

// POSTs that only read (a search takes its query as a body): the `read` scope is enough.
const READ_ONLY_POSTS: readonly RegExp[] = [/^\/v1\/conversations\/search\/?$/];

export function isReadOnlyPost(method: string, path: string): boolean {
  return method === "POST" && READ_ONLY_POSTS.some((re) => re.test(path));
}

export function isPublicRoute(method: string, path: string): boolean {
  return PUBLIC_ROUTES.some(([m, re]) => m === method && re.test(path));
}

interface AccessClaims {
  sub: string;
  wid: string;
  role: Role;
  typ: "access";
  iat: number;
  exp: number;
  [k: string]: unknown;
}

export async function issueAccessToken(
  agent: { id: string; workspaceId: string; role: Role },
  secret: string,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  const claims: AccessClaims = { sub: agent.id, wid: agent.workspaceId, role: agent.role, typ: "access", iat: now, exp: now + ACCESS_TOKEN_TTL };
  return sign(claims, secret, "HS256");
}

async function fromJwt(token: string, secret: string): Promise<Principal & { expiresAt: number }> {
  let claims: AccessClaims;
  try {
    claims = (await verify(token, secret, "HS256")) as AccessClaims;
  } catch (err) {
    const expired = err instanceof Error && /expired/i.test(err.name + err.message);
    throw new ApiError("unauthorized", expired ? "The access token has expired; refresh it." : "The access token is invalid.");
  }
  if (claims.typ !== "access" || typeof claims.sub !== "string" || typeof claims.wid !== "string" || !(claims.role in ROLE_RANK)) {
    throw new ApiError("unauthorized", "The access token is invalid.");
  }
  return { workspaceId: claims.wid, agentId: claims.sub, role: claims.role, scopes: SCOPES, via: "jwt", expiresAt: claims.exp * 1000 };
}

/** Reads the API key from `Authorization: Bearer pk_…` or `X-API-Key`. */
function credentials(c: { req: { header(name: string): string | undefined } }) {
  const authz = c.req.header("authorization");
  const xKey = c.req.header("x-api-key");
  if (authz !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
    if (!m) throw new ApiError("unauthorized", "The Authorization header must be `Bearer <token>`.");
    return m[1]!.startsWith("pk_") ? { apiKey: m[1]! } : { jwt: m[1]! };
  }
  if (xKey !== undefined) return { apiKey: xKey.trim() };
  return {};
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Looks a credential up in the database and remembers the principal it names. */
async function resolve(services: Services, cred: { jwt?: string; apiKey?: string }, cookie: string | undefined): Promise<Principal | undefined> {
  const { db, config, waitUntil } = services;
  if (cred.jwt) {
    const { expiresAt, ...claims } = await fromJwt(cred.jwt, config.jwtSecret);
    // The token is signed, but the agent may have been removed or changed role since it was
    // issued: both take effect within the cache's few seconds, not when the token expires.
    const [agent] = await db
      .select({ role: agents.role })
      .from(agents)
      .where(and(eq(agents.id, claims.agentId!), eq(agents.workspaceId, claims.workspaceId)))
      .limit(1);
    if (!agent) throw new ApiError("unauthorized", "The agent of this access token no longer exists.");
    const principal: Principal = { ...claims, role: agent.role };
    credentialCache.set(cred.jwt, principal, expiresAt);
    return principal;
  }
  if (cred.apiKey !== undefined) {
    const hash = await sha256Hex(cred.apiKey);
    const now = new Date();
    const [key] = await db
      .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, scopes: apiKeys.scopes, lastUsedAt: apiKeys.lastUsedAt, expiresAt: apiKeys.expiresAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now))))
      .limit(1);
    if (!key) throw new ApiError("unauthorized", "The API key is invalid or revoked.");
    const scopes = key.scopes.filter((s): s is Scope => (SCOPES as string[]).includes(s));
    const principal: Principal = { workspaceId: key.workspaceId, apiKeyId: key.id, role: scopes.includes("admin") ? "admin" : "agent", scopes, via: "api_key" };
    credentialCache.set(cred.apiKey, principal, key.expiresAt?.getTime());
    // Record use at most once a minute per key, after the response.
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000) {
      waitUntil(db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id)).then(() => undefined, () => undefined));
    }
    return principal;
  }
  if (!cookie) return undefined;
  const [row] = await db
    .select({ workspaceId: authSessions.workspaceId, agentId: agents.id, role: agents.role, expiresAt: authSessions.expiresAt })
    .from(authSessions)
    .innerJoin(agents, eq(agents.id, authSessions.agentId))
    .where(and(eq(authSessions.tokenHash, await sha256Hex(cookie)), isNull(authSessions.revokedAt), gt(authSessions.expiresAt, new Date())))
    .limit(1);
  if (!row) throw new ApiError("unauthorized", "The session has expired; sign in again.");
  const principal: Principal = { workspaceId: row.workspaceId, agentId: row.agentId, role: row.role, scopes: SCOPES, via: "cookie" };
  credentialCache.set(cookie, principal, row.expiresAt.getTime());
  return principal;
}

/** Failed authentications (a presented credential that is wrong) a client address may make a minute. */
export const AUTH_FAILURES_PER_MINUTE = 20;
const authFailureKey = (who: string, now = Date.now()) => `authfail:${who}:${Math.floor(now / 60_000)}`;

/**
 * Guessing credentials costs a database lookup per guess: past the limit of failures this minute
 * the client address gets 429 before any lookup. Counting fails open (a Redis outage must not
 * lock everyone out), like the rate limit.
 */
async function refuseAfterFailures(c: Context<AppEnv>, who: string): Promise<void> {
  const { kv, config } = c.var.services;
  let failures = 0;
  try {
    failures = Number((await kv.get(authFailureKey(who))) ?? 0);
  } catch (err) {
    console.warn(JSON.stringify({ msg: "auth failure count unavailable", request_id: c.get("requestId"), error: describeError(err) }));
    return;
  }
  if (failures < config.authFailuresPerMinute) return;
  const reset = (Math.floor(Date.now() / 60_000) + 1) * 60;
  throw new ApiError("rate_limit_exceeded", `Too many failed authentications from this address (${config.authFailuresPerMinute} a minute); wait before trying again.`, {
    details: { reason: "auth_failures", limit: config.authFailuresPerMinute },
    headers: { "Retry-After": String(Math.max(1, reset - Math.floor(Date.now() / 1000))), "X-RateLimit-Limit": String(config.authFailuresPerMinute), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": String(reset) },
  });
}

function noteFailure(c: Context<AppEnv>, who: string): void {
  const { kv, waitUntil } = c.var.services;
  waitUntil(kv.incr(authFailureKey(who), 65).catch((err) => console.warn(JSON.stringify({ msg: "auth failure not counted", error: describeError(err) }))));
}

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const path = c.req.path;
  if (!path.startsWith("/v1/") || isPublicRoute(c.req.method, path)) return next();

  const { config } = c.var.services;
  const who = clientAddress((n) => c.req.header(n), c.env);
  let principal: Principal | undefined;
  try {
    const cred = credentials(c);
    const cookie = cred.jwt || cred.apiKey !== undefined ? undefined : getCookie(c, SESSION_COOKIE);
    // A cookie must come from our own origin on unsafe methods, cached or not.
    if (cookie && UNSAFE.has(c.req.method)) assertSameOrigin(c.req.header("origin"), c.req.url, config.publicBaseUrl);
    const presented = cred.jwt ?? cred.apiKey ?? cookie;
    // Resolved in the last few seconds, or looked up now (lib/credential-cache.ts).
    principal = presented === undefined ? undefined : credentialCache.get(presented);
    if (!principal && presented !== undefined) {
      await refuseAfterFailures(c, who);
      principal = await resolve(c.var.services, cred, cookie);
    }
  } catch (err) {
    if (err instanceof ApiError && err.code === "unauthorized") noteFailure(c, who);
    throw err;
  }
  if (!principal) {
    throw new ApiError("unauthorized", "Authentication is required: send `Authorization: Bearer <token>` or `X-API-Key`.", {
      headers: { "WWW-Authenticate": 'Bearer realm="parley"' },
    });
  }

  if (principal.via === "api_key") {
    const needed: Scope = UNSAFE.has(c.req.method) && !isReadOnlyPost(c.req.method, path) ? "write" : "read";
    if (!principal.scopes.includes(needed) && !principal.scopes.includes("admin")) {
      throw new ApiError("forbidden", `This API key lacks the \`${needed}\` scope.`);
    }
  }
  c.set("principal", principal);
  return next();
});

/** CSRF defence for cookie sessions: an unsafe request must come from our own origin. */
export function assertSameOrigin(origin: string | undefined, requestUrl: string, publicBaseUrl?: string): void {
  const allowed = new Set([new URL(requestUrl).origin]);
  if (publicBaseUrl) allowed.add(new URL(publicBaseUrl).origin);
  if (!origin || !allowed.has(origin)) {
    throw new ApiError("forbidden", "Cross-site request refused: a cookie-authenticated change must carry a same-origin `Origin` header.");
  }
}

/** Allows principals whose role is at least `min` (API keys: the `admin` scope counts as admin). */
export function requireRole(min: Role) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const p = c.get("principal");
    if (!p) throw new ApiError("unauthorized");
    if (ROLE_RANK[p.role] < ROLE_RANK[min]) {
      throw new ApiError("forbidden", p.via === "api_key" ? "This API key lacks the `admin` scope." : `This needs the ${min} role.`);
    }
    return next();
  });
}

export function requireScope(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const p = c.get("principal");
    if (!p) throw new ApiError("unauthorized");
    if (!p.scopes.includes(scope)) throw new ApiError("forbidden", `This needs the \`${scope}\` scope.`);
    return next();
  });
}

/** Only an agent (JWT or cookie) may do this: some actions have no meaning for an API key. */
export const requireAgent = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("principal")?.agentId) throw new ApiError("forbidden", "This needs an agent's credentials, not an API key.");
  return next();
});
