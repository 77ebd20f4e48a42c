// What each QStash-delivered job did, keyed by the logical job (job name + deduplication key),
// so a redelivery, a concurrent delivery or a re-publish of the same job has one effect.
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";

/** Workspace of runs that belong to no tenant (scheduled sweeps, maintenance). */
export const SYSTEM_WORKSPACE_ID = "ws_system";

export const jobRuns = pgTable(
  "job_runs",
  {
    id: text("id").primaryKey(),
    // No foreign key: system runs use SYSTEM_WORKSPACE_ID, and a run's record outlives its workspace.
    workspaceId: workspaceId(),
    job: text("job").notNull(),
    dedupKey: text("dedup_key").notNull(),
    /** The QStash message id of the delivery that produced the effect (or the last attempt). */
    messageId: text("message_id"),
    /** `running`: a two-step job's claim while its work is outside a transaction (lib/jobs.ts). */
    status: text("status", { enum: ["running", "completed", "failed", "retrying"] }).notNull(),
    /** Delivery attempts seen: Upstash-Retried + 1 of the latest attempt. */
    attempts: integer("attempts").notNull().default(1),
    error: text("error"),
    result: jsonb("result").$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: tstz("finished_at"),
  },
  (t) => [
    uniqueIndex("job_runs_job_key").on(t.job, t.dedupKey),
    index("job_runs_workspace_idx").on(t.workspaceId, t.createdAt),
  ],
);

export type JobRun = typeof jobRuns.$inferSelect;
