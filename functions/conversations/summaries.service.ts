// Summaries, the request side: a summaries row (processing) and the conversation's
// processing_status written in the caller's transaction, then the job published once that
// transaction has committed (a job must never run against rows that do not exist yet). This
// module only touches the database and the queue: the model runs in the jobs-summaries Worker
// (functions/jobs/summarize.ts), so the conversations bundle stays free of the openai SDK.
import { and, count, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError, describeError } from "../../lib/errors";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/openapi";
import { offsetOf, type Page } from "../../lib/pagination";
import type { Queue } from "../../lib/queue";
import { conversations, type SUMMARY_STYLES, type SummaryRow, summaries } from "../../schema";

export type SummaryStyle = (typeof SUMMARY_STYLES)[number];

/** Delivery retries of a summary job after its first attempt; the last one records the failure. */
export const SUMMARY_JOB_RETRIES = 2;

export interface SummaryOptions {
  language?: string;
  style?: SummaryStyle;
}

/** The payload of /jobs/summaries (functions/jobs/summaries.ts validates the same shape). */
export const summaryPayload = (s: Pick<SummaryRow, "id" | "workspaceId" | "conversationId">) => ({
  workspace_id: s.workspaceId,
  summary_id: s.id,
  conversation_id: s.conversationId,
});

/** The logical job of one summary: one id, one run (lib/jobs.ts job_runs), however often delivered. */
export const summaryJobKey = (summaryId: string) => `summary:${summaryId}`;

export function summaryJson(s: SummaryRow) {
  return {
    id: s.id,
    conversation_id: s.conversationId,
    status: s.status,
    language: s.language,
    style: s.style,
    result: s.result ?? null,
    error: s.error,
    model: s.model,
    usage: s.usage ?? null,
    created_at: s.createdAt.toISOString(),
    completed_at: iso(s.completedAt),
  };
}

/**
 * Records a summary request in `tx`: the history row (processing), the conversation's
 * processing_status, and the summary.requested event. Publish it with `publishSummary` after
 * the transaction commits.
 */
export async function insertSummaryRequest(tx: Db, workspaceId: string, conversationId: string, opts: SummaryOptions, actor: string): Promise<SummaryRow> {
  const [row] = await tx
    .insert(summaries)
    .values({ id: newId("sum"), workspaceId, conversationId, status: "processing", language: opts.language ?? null, style: opts.style ?? "concise" })
    .returning();
  await tx
    .update(conversations)
    .set({ processingStatus: "processing" })
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, conversationId)));
  await recordEvent(tx, workspaceId, "summary.requested", { type: "conversation", id: conversationId }, actor, {
    conversation_id: conversationId,
    summary_id: row!.id,
  });
  return row!;
}

/** Marks a summary failed, and its conversation too unless a newer summary was requested since. */
export async function markSummaryFailed(db: Db, s: Pick<SummaryRow, "id" | "workspaceId" | "conversationId">, error: string): Promise<void> {
  await db
    .update(summaries)
    .set({ status: "failed", error: error.slice(0, 2000), completedAt: new Date() })
    .where(and(eq(summaries.workspaceId, s.workspaceId), eq(summaries.id, s.id), eq(summaries.status, "processing")));
  await db
    .update(conversations)
    .set({ processingStatus: "failed" })
    .where(and(eq(conversations.workspaceId, s.workspaceId), eq(conversations.id, s.conversationId), noNewerSummary(s)));
}

/** True while `s` is the conversation's latest summary request (an older job must not overwrite a newer one). */
export function noNewerSummary(s: Pick<SummaryRow, "id" | "workspaceId" | "conversationId">) {
  // Compared with the row's own created_at (microseconds), not the JavaScript Date (milliseconds).
  return sql`not exists (select 1 from summaries as newer where newer.workspace_id = ${s.workspaceId} and newer.conversation_id = ${s.conversationId} and newer.id <> ${s.id} and (newer.created_at, newer.id) > (select mine.created_at, mine.id from summaries as mine where mine.id = ${s.id}))`;
}

export const PUBLISH_FAILED = "The summary job could not be queued (the job queue is unavailable). Request a new summary to try again.";

/**
 * Publishes the summary job. Called after the request's transaction committed; if the queue
 * is unavailable, the summary and the conversation are marked failed with that error (never
 * left processing with no job to finish them), and the caller decides what to answer.
 */
export async function publishSummary(db: Db, queue: Queue, s: SummaryRow): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await queue.publish("summaries", summaryPayload(s), { deduplicationId: summaryJobKey(s.id), retries: SUMMARY_JOB_RETRIES });
    return { ok: true };
  } catch (err) {
    console.error(JSON.stringify({ msg: "summary job not published", summary_id: s.id, workspace_id: s.workspaceId, error: describeError(err) }));
    await markSummaryFailed(db, s, PUBLISH_FAILED);
    return { ok: false, error: PUBLISH_FAILED };
  }
}

export async function findSummary(db: Db, workspaceId: string, id: string): Promise<SummaryRow> {
  const [row] = await db
    .select()
    .from(summaries)
    .where(and(eq(summaries.workspaceId, workspaceId), eq(summaries.id, id)))
    .limit(1);
  if (!row) throw new ApiError("not_found", "No such summary.");
  return row;
}

/** A conversation's summaries, newest first. */
export async function listSummaries(db: Db, workspaceId: string, conversationId: string, page: Page) {
  const where = and(eq(summaries.workspaceId, workspaceId), eq(summaries.conversationId, conversationId));
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(summaries)
      .where(where)
      .orderBy(desc(summaries.createdAt), desc(summaries.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: count() }).from(summaries).where(where),
  ]);
  return { total: total?.n ?? 0, data: rows.map(summaryJson) };
}
