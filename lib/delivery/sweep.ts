// The deliveries' safety net (`parley-deliveries-sweep`, every minute): publishes again every
// email and outbound message still queued a while after it was written — its after-commit
// publish failed (QStash down), its job gave up, or the process stopped in between. The job's
// claim makes a delivery reached twice send once.
import { sql } from "drizzle-orm";
import { type Db, rowsOf } from "../db";
import type { Queue } from "../queue";
import { DELIVERY_RETRIES, type DeliveryTarget, deliveryKey } from "./publish";

export const SWEEP_GRACE_SECONDS = 60;
const BATCH = 500;

export async function sweepQueued(db: Db, queue: Queue, opts: { graceSeconds?: number; workspaceId?: string; now?: Date } = {}) {
  const grace = sql.raw(String(Math.max(0, Math.floor(opts.graceSeconds ?? SWEEP_GRACE_SECONDS))));
  const ws = opts.workspaceId;
  const msgs = rowsOf<{ id: string; workspace_id: string }>(
    await db.execute(sql`
      select id, workspace_id from messages
      where delivery_status = 'queued' and created_at < now() - interval '${grace} seconds' ${ws ? sql`and workspace_id = ${ws}` : sql``}
      order by created_at limit ${BATCH}`),
  );
  // Agent replies' emails go with their message; the others on their own, and so does a reply's
  // email whose message was deleted with its conversation (the job fails it: conversation_deleted).
  const mails = rowsOf<{ id: string; workspace_id: string }>(
    await db.execute(sql`
      select id, workspace_id from emails
      where status = 'queued'
        and (message_id is null or not exists (select 1 from messages m where m.id = emails.message_id))
        and created_at < now() - interval '${grace} seconds'
        and updated_at < now() - interval '${grace} seconds' ${ws ? sql`and workspace_id = ${ws}` : sql``}
      order by created_at limit ${BATCH}`),
  );
  const targets: DeliveryTarget[] = [
    ...msgs.map((m) => ({ workspace_id: m.workspace_id, message_id: m.id })),
    ...mails.map((e) => ({ workspace_id: e.workspace_id, email_id: e.id })),
  ];
  if (!targets.length) return { published: 0, messages: 0, emails: 0 };
  // One key per target and minute: two sweeps in the same minute publish once.
  const minute = (opts.now ?? new Date()).toISOString().slice(0, 16);
  await queue.publishBatch(targets.map((t) => ({ job: "deliveries" as const, payload: t, deduplicationId: deliveryKey(t, minute), retries: DELIVERY_RETRIES })));
  return { published: targets.length, messages: msgs.length, emails: mails.length };
}
