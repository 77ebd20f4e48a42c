// Exports: the one place their SQL lives. Requesting one counts the matching conversations,
// stores the export (processing) and publishes its first chunk job (functions/jobs/exports.ts).
import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError, describeError, notFound } from "../../lib/errors";
import { linkFor } from "../../lib/files";
import { newId } from "../../lib/ids";
import { offsetOf, type Page } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { type ExportFilters, type ExportOptions, type ExportRow, exports } from "../../schema/exports";
import { files } from "../../schema/files";
import { countMatching } from "../jobs/export-data";
import { EXPORT_JOB_RETRIES, exportJobKey } from "../jobs/export-key";

/** How long an export's download link is valid (a fresh one with every read of the export). */
export const EXPORT_LINK_TTL_SECONDS = 60 * 60;

export async function createExport(
  services: Pick<Services, "db" | "queue">,
  workspaceId: string,
  input: { format: ExportRow["format"]; filters: ExportFilters; options: ExportOptions },
  actor: string,
): Promise<ExportRow> {
  const { db, queue } = services;
  const total = await countMatching(db, workspaceId, input.filters);
  const [row] = await db
    .insert(exports)
    .values({ id: newId("exp"), workspaceId, format: input.format, filters: input.filters, options: input.options, total, createdBy: actor })
    .returning();
  try {
    await queue.publish("exports", { workspace_id: workspaceId, export_id: row!.id, chunk: 0 }, { deduplicationId: exportJobKey(row!.id, 0), retries: EXPORT_JOB_RETRIES });
  } catch (err) {
    // No job will ever render it: take it back, so nothing is left half-done.
    await db.delete(exports).where(eq(exports.id, row!.id));
    throw new ApiError("service_unavailable", "The export could not be queued (the job queue is unavailable). Nothing was created; try again.", { cause: describeError(err) });
  }
  return row!;
}

export async function findExport(db: Db, workspaceId: string, id: string) {
  const [row] = await db
    .select({ e: exports, size: files.size })
    .from(exports)
    .leftJoin(files, and(eq(files.id, exports.fileId), eq(files.workspaceId, exports.workspaceId)))
    .where(and(eq(exports.workspaceId, workspaceId), eq(exports.id, id)))
    .limit(1);
  if (!row) throw notFound("export");
  return row;
}

export async function listExports(db: Db, workspaceId: string, page: Page) {
  const where = eq(exports.workspaceId, workspaceId);
  const [rows, [count]] = await Promise.all([
    db
      .select({ e: exports, size: files.size })
      .from(exports)
      .leftJoin(files, and(eq(files.id, exports.fileId), eq(files.workspaceId, exports.workspaceId)))
      .where(where)
      .orderBy(desc(exports.createdAt), desc(exports.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(exports).where(where),
  ]);
  return { rows, total: Number(count?.n ?? 0) };
}

export async function exportJson(services: Pick<Services, "config">, r: { e: ExportRow; size: number | null }) {
  const { e } = r;
  const link = e.status === "completed" && e.fileId ? await linkFor(services, { id: e.fileId, workspaceId: e.workspaceId }, EXPORT_LINK_TTL_SECONDS) : null;
  return {
    id: e.id,
    status: e.status,
    progress: e.progress,
    format: e.format,
    filters: e.filters as Record<string, unknown>,
    options: e.options,
    total: e.total,
    processed: e.processed,
    size_mb: r.size === null || e.status !== "completed" ? null : Math.round((r.size / (1024 * 1024)) * 100) / 100,
    file_id: e.status === "completed" ? e.fileId : null,
    download_url: link?.url ?? null,
    expires_at: link?.expires_at ?? null,
    error: e.error ?? null,
    created_at: e.createdAt.toISOString(),
    completed_at: e.completedAt?.toISOString() ?? null,
  };
}
