// SQL of a workspace's agents: list, create, role changes and removal, with the rule that
// a workspace always keeps at least one owner.
import { credentialCache } from "../../lib/credential-cache";
import { and, asc, count, desc, eq, type SQL } from "drizzle-orm";
import type { Principal, Role } from "../../lib/auth";
import type { Database, Db } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { hashPassword } from "../../lib/passwords";
import { agents, workspaces } from "../../schema";
import { emailTaken, revokeAllForAgent } from "./service";

export const AGENT_SORTS = ["created_at", "name", "email"] as const;

export async function listAgents(db: Db, workspaceId: string, page: Page, sort: SortSpec<(typeof AGENT_SORTS)[number]>, role?: Role) {
  const conds: SQL[] = [eq(agents.workspaceId, workspaceId)];
  if (role) conds.push(eq(agents.role, role));
  const where = and(...conds);
  const column = sort.field === "name" ? agents.name : sort.field === "email" ? agents.email : agents.createdAt;
  const dir = sort.direction === "desc" ? desc : asc;
  const [rows, [total]] = await Promise.all([
    db.select().from(agents).where(where).orderBy(dir(column), dir(agents.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: count() }).from(agents).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

const emailConflict = () =>
  new ApiError("conflict", "An agent with this email already exists.", { details: { fields: { email: ["Already registered."] } } });

export async function createAgent(db: Db, workspaceId: string, input: { name: string; email: string; password: string; role: Role }) {
  if (await emailTaken(db, input.email)) throw emailConflict();
  const passwordHash = await hashPassword(input.password);
  const [row] = await db
    .insert(agents)
    .values({ id: newId("agt"), workspaceId, name: input.name, email: input.email, passwordHash, role: input.role })
    .returning();
  return row!;
}

/** Only an owner may make someone an owner or take that role away (by demotion or removal). */
function assertMayTouchOwner(actor: Principal, fromRole: Role, toRole: Role | null): void {
  if ((fromRole === "owner" || toRole === "owner") && actor.role !== "owner") {
    throw new ApiError("forbidden", "Only an owner may grant or remove the owner role.");
  }
}

/**
 * Locks the workspace row so concurrent demotions or removals of owners run one after the
 * other, then refuses to leave the workspace without an owner.
 */
async function assertNotLastOwner(tx: Db, workspaceId: string, what: string): Promise<void> {
  await tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspaceId)).for("update");
  const [owners] = await tx.select({ n: count() }).from(agents).where(and(eq(agents.workspaceId, workspaceId), eq(agents.role, "owner")));
  if ((owners?.n ?? 0) <= 1) throw new ApiError("conflict", `The last owner of a workspace cannot be ${what}; make another agent owner first.`);
}

async function findAgent(tx: Db, workspaceId: string, id: string) {
  const [row] = await tx.select().from(agents).where(and(eq(agents.id, id), eq(agents.workspaceId, workspaceId))).limit(1);
  if (!row) throw notFound("agent");
  return row;
}

export async function changeRole(db: Database, actor: Principal, id: string, role: Role) {
  const changed = await db.transaction(async (tx) => {
    const target = await findAgent(tx, actor.workspaceId, id);
    assertMayTouchOwner(actor, target.role, role);
    if (target.role === role) return target;
    if (target.role === "owner") await assertNotLastOwner(tx, actor.workspaceId, "demoted");
    const [row] = await tx
      .update(agents)
      .set({ role, updatedAt: new Date() })
      .where(and(eq(agents.id, id), eq(agents.workspaceId, actor.workspaceId)))
      .returning();
    return row!;
  });
  // Committed: this instance's cached credentials of the agent must not keep the old role.
  credentialCache.forgetAgent(id);
  return changed;
}

/** Deletes the agent; their refresh tokens and cookie sessions go with them. */
export async function deleteAgent(db: Database, actor: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const target = await findAgent(tx, actor.workspaceId, id);
    assertMayTouchOwner(actor, target.role, null);
    if (target.role === "owner") await assertNotLastOwner(tx, actor.workspaceId, "deleted");
    // Explicit even though the foreign keys cascade: the revocation must not depend on it.
    await revokeAllForAgent(tx, id);
    await tx.delete(agents).where(and(eq(agents.id, id), eq(agents.workspaceId, actor.workspaceId)));
  });
  credentialCache.forgetAgent(id);
}
