// One delivery attempt's claim on its email or message: a lease in `delivery_attempts`, taken in a
// short transaction while the row is still queued (the row locked FOR UPDATE, so a redelivered job,
// the sweep's re-publish and an inbound status webhook line up behind it). The provider is then
// called outside any transaction, and the answer is recorded only while the lease is still this
// attempt's. A lease that ran out without an answer means the attempt stopped somewhere between
// the claim and recording the answer (a crash, a lost database): the next attempt is told it is
// `inDoubt`, because the provider may already have accepted the message.
import { and, eq } from "drizzle-orm";
import { deliveryAttempts, emails, messages } from "../../schema";
import type { Database, Tx } from "../db";
import { randomToken } from "../ids";

/** How long an attempt owns its target: well past the provider's 15 s timeout. */
export const LEASE_MS = 60_000;

export type TargetKind = "email" | "message";

export type Claim =
  | { ok: true; attemptId: string; attempts: number; inDoubt: boolean }
  | { ok: false; reason: "missing" | "not_queued" | "in_flight"; status?: string | null };

export async function claimTarget(db: Database, kind: TargetKind, workspaceId: string, id: string, now = new Date()): Promise<Claim> {
  return db.transaction(async (tx) => {
    const [row] =
      kind === "email"
        ? await tx
            .select({ status: emails.status })
            .from(emails)
            .where(and(eq(emails.id, id), eq(emails.workspaceId, workspaceId)))
            .for("update")
        : await tx
            .select({ status: messages.deliveryStatus })
            .from(messages)
            .where(and(eq(messages.id, id), eq(messages.workspaceId, workspaceId)))
            .for("update");
    if (!row) return { ok: false, reason: "missing" } as const;
    if (row.status !== "queued") return { ok: false, reason: "not_queued", status: row.status } as const;
    const [prev] = await tx.select().from(deliveryAttempts).where(eq(deliveryAttempts.targetId, id)).for("update");
    if (prev?.claimedUntil && prev.claimedUntil > now) return { ok: false, reason: "in_flight" } as const;
    const attemptId = randomToken(12);
    const attempts = (prev?.attempts ?? 0) + 1;
    const claimedUntil = new Date(now.getTime() + LEASE_MS);
    await tx
      .insert(deliveryAttempts)
      .values({ targetId: id, workspaceId, attempts, attemptId, claimedUntil })
      .onConflictDoUpdate({ target: deliveryAttempts.targetId, set: { attempts, attemptId, claimedUntil, updatedAt: now } });
    if (kind === "email") await tx.update(emails).set({ attempts, updatedAt: now }).where(eq(emails.id, id));
    return { ok: true, attemptId, attempts, inDoubt: Boolean(prev?.claimedUntil) } as const;
  });
}

/**
 * Ends the attempt's lease inside the transaction that records its answer; false when the lease is
 * no longer ours. Locks the target row first, then the lease, in the claim's order (no deadlock).
 */
export async function settle(tx: Tx, kind: TargetKind, id: string, attemptId: string, lastError: string | null = null): Promise<boolean> {
  if (kind === "email") await tx.select({ id: emails.id }).from(emails).where(eq(emails.id, id)).for("update");
  else await tx.select({ id: messages.id }).from(messages).where(eq(messages.id, id)).for("update");
  const [mine] = await tx
    .update(deliveryAttempts)
    .set({ claimedUntil: null, lastError: lastError?.slice(0, 2000) ?? null, updatedAt: new Date() })
    .where(and(eq(deliveryAttempts.targetId, id), eq(deliveryAttempts.attemptId, attemptId)))
    .returning({ id: deliveryAttempts.targetId });
  return Boolean(mine);
}

/** Gives the lease back without an answer (the provider said "later", or the attempt failed before sending). */
export async function release(db: Database, kind: TargetKind, id: string, attemptId: string, reason: string): Promise<void> {
  await db.transaction((tx) => settle(tx, kind, id, attemptId, reason)).catch(() => undefined);
}

/**
 * Inside a transaction holding the target row: extends the lease while it is still `attemptId`'s
 * (an attempt that sends several provider messages keeps it between them); false when it is not.
 */
export async function extendLease(tx: Tx, id: string, attemptId: string, now = new Date()): Promise<boolean> {
  const [mine] = await tx
    .update(deliveryAttempts)
    .set({ claimedUntil: new Date(now.getTime() + LEASE_MS), updatedAt: now })
    .where(and(eq(deliveryAttempts.targetId, id), eq(deliveryAttempts.attemptId, attemptId)))
    .returning({ id: deliveryAttempts.targetId });
  return Boolean(mine);
}
