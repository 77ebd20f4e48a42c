// Identity's SQL and token logic in one place: workspaces, agents, token pairs with
// rotation and family revocation, cookie sessions.
import { credentialCache } from "../../lib/credential-cache";
import { and, eq, isNull, sql } from "drizzle-orm";
import { ACCESS_TOKEN_TTL, issueAccessToken, type Role } from "../../lib/auth";
import type { Db, Database } from "../../lib/db";
import { ApiError } from "../../lib/errors";
import { newId, randomToken, sha256Hex } from "../../lib/ids";
import { hashPassword, verifyNothing, verifyPassword } from "../../lib/passwords";
import { agents, authSessions, refreshTokens, workspaces } from "../../schema";

export const REFRESH_TTL_DAYS = 30;
export const SESSION_TTL_DAYS = 7;
const DAY = 24 * 60 * 60 * 1000;

type WorkspaceRow = typeof workspaces.$inferSelect;
type AgentRow = typeof agents.$inferSelect;

export const workspaceJson = (w: WorkspaceRow) => ({
  id: w.id,
  name: w.name,
  plan: w.plan,
  settings: { timezone: w.settings.timezone ?? "UTC", search_language: w.settings.search_language ?? "english" },
  created_at: w.createdAt.toISOString(),
  updated_at: w.updatedAt.toISOString(),
});

export const agentJson = (a: AgentRow) => ({
  id: a.id,
  workspace_id: a.workspaceId,
  name: a.name,
  email: a.email,
  role: a.role,
  last_login_at: a.lastLoginAt ? a.lastLoginAt.toISOString() : null,
  created_at: a.createdAt.toISOString(),
  updated_at: a.updatedAt.toISOString(),
});

export async function emailTaken(db: Db, email: string): Promise<boolean> {
  const [row] = await db.select({ id: agents.id }).from(agents).where(sql`lower(${agents.email}) = ${email.toLowerCase()}`).limit(1);
  return Boolean(row);
}

export async function createWorkspace(
  db: Database,
  input: { name: string; owner: { name: string; email: string; password: string } },
  secret: string,
) {
  if (await emailTaken(db, input.owner.email)) {
    throw new ApiError("conflict", "An agent with this email already exists.", { details: { fields: { "owner.email": ["Already registered."] } } });
  }
  const passwordHash = await hashPassword(input.owner.password);
  return db.transaction(async (tx) => {
    const [workspace] = await tx.insert(workspaces).values({ id: newId("ws"), name: input.name, settings: {} }).returning();
    const [agent] = await tx
      .insert(agents)
      .values({ id: newId("agt"), workspaceId: workspace!.id, name: input.owner.name, email: input.owner.email, passwordHash, role: "owner" })
      .returning();
    const tokens = await issueTokenPair(tx, agent!, secret);
    return { workspace: workspace!, agent: agent!, tokens };
  });
}

/** Finds the agent for these credentials; unknown email and wrong password cost the same time. */
export async function checkCredentials(db: Db, email: string, password: string): Promise<AgentRow> {
  const [agent] = await db.select().from(agents).where(sql`lower(${agents.email}) = ${email.toLowerCase()}`).limit(1);
  const ok = agent ? await verifyPassword(password, agent.passwordHash) : await verifyNothing(password);
  if (!agent || !ok) throw new ApiError("unauthorized", "The email or password is incorrect.");
  return agent;
}

export async function issueTokenPair(db: Db, agent: { id: string; workspaceId: string; role: Role }, secret: string, familyId = newId("rt")) {
  const refresh = `rt_${randomToken(32)}`;
  await db.insert(refreshTokens).values({
    id: newId("rt"),
    workspaceId: agent.workspaceId,
    agentId: agent.id,
    familyId,
    tokenHash: await sha256Hex(refresh),
    expiresAt: new Date(Date.now() + REFRESH_TTL_DAYS * DAY),
  });
  return {
    access_token: await issueAccessToken(agent, secret),
    refresh_token: refresh,
    token_type: "Bearer" as const,
    expires_in: ACCESS_TOKEN_TTL,
  };
}

/**
 * Exchanges a refresh token for a new pair. A token that was already exchanged is a sign of
 * theft: the whole family is revoked and the caller must sign in again.
 */
export async function rotateRefreshToken(db: Database, token: string, secret: string) {
  const hash = await sha256Hex(token);
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).for("update").limit(1);
    if (!row || row.revokedAt || row.expiresAt <= new Date()) {
      throw new ApiError("unauthorized", "The refresh token is invalid, expired or revoked.");
    }
    if (row.rotatedAt) {
      await tx.update(refreshTokens).set({ revokedAt: new Date() }).where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
      return { reused: true as const };
    }
    const [agent] = await tx.select().from(agents).where(eq(agents.id, row.agentId)).limit(1);
    if (!agent) throw new ApiError("unauthorized", "The refresh token is invalid, expired or revoked.");
    await tx.update(refreshTokens).set({ rotatedAt: new Date() }).where(eq(refreshTokens.id, row.id));
    return { reused: false as const, tokens: await issueTokenPair(tx, agent, secret, row.familyId) };
  });
}

/** Revokes the token's whole family (RFC 7009: unknown tokens are not an error). */
export async function revokeRefreshToken(db: Db, token: string): Promise<void> {
  const [row] = await db.select({ familyId: refreshTokens.familyId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, await sha256Hex(token))).limit(1);
  if (row) await db.update(refreshTokens).set({ revokedAt: new Date() }).where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
}

export async function revokeAllForAgent(db: Db, agentId: string, opts: { keepSessionHash?: string } = {}): Promise<void> {
  const now = new Date();
  await db.update(refreshTokens).set({ revokedAt: now }).where(and(eq(refreshTokens.agentId, agentId), isNull(refreshTokens.revokedAt)));
  await db
    .update(authSessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(authSessions.agentId, agentId),
        isNull(authSessions.revokedAt),
        opts.keepSessionHash ? sql`${authSessions.tokenHash} <> ${opts.keepSessionHash}` : undefined,
      ),
    );
}

export async function createCookieSession(db: Db, agent: { id: string; workspaceId: string }) {
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + SESSION_TTL_DAYS * DAY);
  await db.insert(authSessions).values({ id: newId("csess"), workspaceId: agent.workspaceId, agentId: agent.id, tokenHash: await sha256Hex(token), expiresAt });
  return { token, expiresAt };
}

export async function endCookieSession(db: Db, token: string): Promise<void> {
  await db.update(authSessions).set({ revokedAt: new Date() }).where(eq(authSessions.tokenHash, await sha256Hex(token)));
  credentialCache.forgetCredential(token);
}
