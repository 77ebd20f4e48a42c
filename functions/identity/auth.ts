// Sign-up and every credential exchange: tokens (with rotation), revocation, cookie login.
import { createRoute, z } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { assertSameOrigin, SESSION_COOKIE } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { Agent, Credentials, Me, RefreshBody, SignUpBody, SignUpResult, TokenPair, Workspace } from "./schemas";
import {
  agentJson,
  checkCredentials,
  createCookieSession,
  createWorkspace,
  endCookieSession,
  issueTokenPair,
  revokeRefreshToken,
  rotateRefreshToken,
  SESSION_TTL_DAYS,
  workspaceJson,
} from "./service";
import { agents, workspaces } from "../../schema";
import { and, eq } from "drizzle-orm";

const signUp = createRoute({
  method: "post",
  path: "/v1/workspaces",
  operationId: "createWorkspace",
  tags: ["Auth"],
  summary: "Sign up: create a workspace and its owner",
  description: "Public. Creates a workspace, its owner agent, and returns a token pair for the owner. The owner's email must not be registered yet.",
  security: [],
  request: { body: jsonBody(SignUpBody) },
  responses: { 201: jsonContent(SignUpResult, "The new workspace, its owner and a token pair"), ...errorResponses(409) },
});

const token = createRoute({
  method: "post",
  path: "/v1/auth/token",
  operationId: "createToken",
  tags: ["Auth"],
  summary: "Exchange email and password for a token pair",
  description: "Public. The access token (JWT, HS256) lives 15 minutes; the refresh token 30 days and is single-use (see /v1/auth/refresh).",
  security: [],
  request: { body: jsonBody(Credentials) },
  responses: { 200: jsonContent(TokenPair.extend({ agent: Agent }), "A token pair"), ...errorResponses(401) },
});

const refresh = createRoute({
  method: "post",
  path: "/v1/auth/refresh",
  operationId: "refreshToken",
  tags: ["Auth"],
  summary: "Rotate a refresh token",
  description:
    "Public. Returns a new pair; the refresh token sent stops working. Sending an already-rotated refresh token again revokes every token descended from the same sign-in (reuse detection) and answers 401.",
  security: [],
  request: { body: jsonBody(RefreshBody) },
  responses: { 200: jsonContent(TokenPair, "A new token pair"), ...errorResponses(401) },
});

const revoke = createRoute({
  method: "post",
  path: "/v1/auth/revoke",
  operationId: "revokeToken",
  tags: ["Auth"],
  summary: "Revoke a refresh token",
  description: "Public. Revokes the refresh token and every token rotated from the same sign-in. Unknown tokens also answer 200 (RFC 7009).",
  security: [],
  request: { body: jsonBody(RefreshBody) },
  responses: { 200: jsonContent(z.object({ revoked: z.literal(true) }), "Revoked"), ...errorResponses() },
});

const login = createRoute({
  method: "post",
  path: "/v1/auth/login",
  operationId: "login",
  tags: ["Auth"],
  summary: "Sign in with a session cookie (browser inbox)",
  description:
    "Public. Sets an HttpOnly, SameSite=Lax `parley_session` cookie (Secure except on plain-HTTP localhost) valid 7 days. Unsafe requests authenticated by the cookie must carry a same-origin `Origin` header.",
  security: [],
  request: { body: jsonBody(Credentials) },
  responses: {
    200: jsonContent(z.object({ agent: Agent, workspace: Workspace, expires_at: z.string() }), "Signed in; the cookie is set"),
    ...errorResponses(401),
  },
});

const logout = createRoute({
  method: "post",
  path: "/v1/auth/logout",
  operationId: "logout",
  tags: ["Auth"],
  summary: "End the cookie session",
  security: [],
  responses: { 200: jsonContent(z.object({ logged_out: z.literal(true) }), "Signed out; the cookie is cleared"), ...errorResponses(403) },
});

const me = createRoute({
  method: "get",
  path: "/v1/auth/me",
  operationId: "getMe",
  tags: ["Auth"],
  summary: "Who am I",
  description: "Any credential. The workspace, the agent (null for an API key) and how the request was authenticated.",
  responses: { 200: jsonContent(Me, "The caller"), ...errorResponses(401, 403) },
});

function isPlainLocalhost(url: string): boolean {
  const u = new URL(url);
  return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

export const authRouter = createRouter()
  .openapi(signUp, async (c) => {
    const body = c.req.valid("json");
    const { db, config } = c.var.services;
    const { workspace, agent, tokens } = await createWorkspace(db, body, config.jwtSecret);
    return c.json({ workspace: workspaceJson(workspace), agent: agentJson(agent), ...tokens }, 201);
  })
  .openapi(token, async (c) => {
    const { email, password } = c.req.valid("json");
    const { db, config } = c.var.services;
    const agent = await checkCredentials(db, email, password);
    const tokens = await issueTokenPair(db, agent, config.jwtSecret);
    await db.update(agents).set({ lastLoginAt: new Date() }).where(eq(agents.id, agent.id));
    return c.json({ ...tokens, agent: agentJson({ ...agent, lastLoginAt: new Date() }) }, 200);
  })
  .openapi(refresh, async (c) => {
    const { refresh_token } = c.req.valid("json");
    const { db, config } = c.var.services;
    const result = await rotateRefreshToken(db, refresh_token, config.jwtSecret);
    if (result.reused) {
      throw new ApiError("unauthorized", "This refresh token was already used; every token of this sign-in has been revoked. Sign in again.");
    }
    return c.json(result.tokens, 200);
  })
  .openapi(revoke, async (c) => {
    const { refresh_token } = c.req.valid("json");
    await revokeRefreshToken(c.var.services.db, refresh_token);
    return c.json({ revoked: true as const }, 200);
  })
  .openapi(login, async (c) => {
    const { email, password } = c.req.valid("json");
    const { db } = c.var.services;
    const agent = await checkCredentials(db, email, password);
    const session = await createCookieSession(db, agent);
    const now = new Date();
    await db.update(agents).set({ lastLoginAt: now }).where(eq(agents.id, agent.id));
    const [workspace] = await db.select().from(workspaces).where(eq(workspaces.id, agent.workspaceId)).limit(1);
    setCookie(c, SESSION_COOKIE, session.token, {
      httpOnly: true,
      secure: !isPlainLocalhost(c.req.url),
      sameSite: "Lax",
      path: "/",
      maxAge: SESSION_TTL_DAYS * 24 * 60 * 60,
    });
    return c.json({ agent: agentJson({ ...agent, lastLoginAt: now }), workspace: workspaceJson(workspace!), expires_at: session.expiresAt.toISOString() }, 200);
  })
  .openapi(logout, async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) {
      assertSameOrigin(c.req.header("origin"), c.req.url, c.var.services.config.publicBaseUrl);
      await endCookieSession(c.var.services.db, cookie);
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: !isPlainLocalhost(c.req.url) });
    return c.json({ logged_out: true as const }, 200);
  })
  .openapi(me, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const [workspace] = await db.select().from(workspaces).where(eq(workspaces.id, p.workspaceId)).limit(1);
    const [agent] = p.agentId ? await db.select().from(agents).where(and(eq(agents.id, p.agentId), eq(agents.workspaceId, p.workspaceId))).limit(1) : [];
    if (!workspace) throw new ApiError("unauthorized", "This workspace no longer exists.");
    return c.json(
      {
        workspace: workspaceJson(workspace),
        agent: agent ? agentJson(agent) : null,
        auth: { via: p.via, role: p.role, scopes: [...p.scopes], api_key_id: p.apiKeyId ?? null },
      },
      200,
    );
  });
