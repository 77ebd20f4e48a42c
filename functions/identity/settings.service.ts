// SQL of workspace settings and an agent's own password.
import { credentialCache } from "../../lib/credential-cache";
import { and, eq, sql } from "drizzle-orm";
import type { Database, Db } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import { hashPassword, verifyPassword } from "../../lib/passwords";
import { agents, type WorkspaceSettings, workspaces } from "../../schema";
import { revokeAllForAgent } from "./service";

export async function getWorkspace(db: Db, workspaceId: string) {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, workspaceId)).limit(1);
  if (!row) throw notFound("workspace");
  return row;
}

/** Renames and merges settings key by key in one statement, so concurrent updates of different keys both stick. */
export async function updateWorkspace(db: Db, workspaceId: string, input: { name?: string; settings?: WorkspaceSettings }) {
  const patch = Object.fromEntries(Object.entries(input.settings ?? {}).filter(([, v]) => v !== undefined));
  if (input.name === undefined && Object.keys(patch).length === 0) return getWorkspace(db, workspaceId);
  const [row] = await db
    .update(workspaces)
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      settings: sql`${workspaces.settings} || ${JSON.stringify(patch)}::jsonb`,
      updatedAt: new Date(),
    })
    .where(eq(workspaces.id, workspaceId))
    .returning();
  if (!row) throw notFound("workspace");
  return row;
}

/**
 * Checks the current password, stores the new one and signs the agent out everywhere else:
 * every refresh token, and every cookie session but the one making this request.
 */
export async function changePassword(
  db: Database,
  agent: { workspaceId: string; agentId: string },
  input: { current: string; next: string; keepSessionHash?: string },
) {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.id, agent.agentId), eq(agents.workspaceId, agent.workspaceId)))
    .limit(1);
  if (!row) throw new ApiError("unauthorized", "This agent no longer exists.");
  if (!(await verifyPassword(input.current, row.passwordHash))) {
    throw new ApiError("validation_error", "The current password is incorrect.", { details: { fields: { current_password: ["Incorrect password."] } } });
  }
  const passwordHash = await hashPassword(input.next);
  await db.transaction(async (tx) => {
    await tx.update(agents).set({ passwordHash, updatedAt: new Date() }).where(eq(agents.id, row.id));
    await revokeAllForAgent(tx, row.id, { keepSessionHash: input.keepSessionHash });
  });
  // Committed: the agent's other sessions must not linger in this instance's cache.
  credentialCache.forgetAgent(row.id);
  return row;
}
