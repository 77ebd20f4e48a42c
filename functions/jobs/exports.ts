// The exports job: renders one export (csv, json, markdown, pdf) into storage, a chunk per
// delivery so each stays well inside a Worker's CPU limit. Delivery n renders the next
// conversations after the export's cursor into part n (`ws_…/exports/exp_…/part-0000n`),
// moves the cursor, progress and part count in the run's transaction, and publishes delivery
// n + 1 (key `export:exp_…:n+1`) when more rows follow. The delivery that reaches the last row
// (it reads one row beyond its chunk to know) assembles the parts into the export's file (files.kind = "export") and marks the export completed.
// Idempotent: a redelivery of n is a no-op (job_runs), and n runs only while parts = n, so a
// chunk is never rendered twice; part n is keyed by n, so a retried attempt overwrites it.
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Tx } from "../../lib/db";
import { DependencyError, describeError, transactionConflict } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { createJobApp, type JobMeta } from "../../lib/jobs";
import type { Storage } from "../../lib/storage";
import { type ExportRow, exports } from "../../schema/exports";
import { files } from "../../schema/files";
import { loadChunk } from "./export-data";
import { EXPORT_JOB_RETRIES, exportJobKey } from "./export-key";
import { buildPdf } from "./export-pdf";
import { csvHeader, csvRows, type ExportConversation, type ExportHeader, jsonDocument, jsonRows, markdownDocument, markdownRows, pdfBlocks } from "./export-render";

export const ExportPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  export_id: z.string().min(1).max(100).openapi({ example: "exp_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  chunk: z.number().int().min(0).max(1_000_000).default(0).openapi({ example: 0, description: "Which part this delivery renders (0 first)." }),
});
export type ExportPayload = z.infer<typeof ExportPayload>;

/** Tests set `rows` to exercise many chunks with few conversations; null in production. */
export const chunkOverride: { rows: number | null } = { rows: null };

/** Conversations per delivery: fewer when each carries its messages. */
export function chunkSize(e: Pick<ExportRow, "options" | "format">): number {
  if (chunkOverride.rows) return chunkOverride.rows;
  if (e.options.include_messages) return e.format === "pdf" ? 100 : 250;
  return e.format === "pdf" ? 500 : 2000;
}

export const partKey = (e: Pick<ExportRow, "workspaceId" | "id">, n: number) => `${e.workspaceId}/exports/${e.id}/part-${String(n).padStart(6, "0")}`;

const FORMAT_FILE = {
  csv: { ext: "csv", mime: "text/csv; charset=utf-8" },
  json: { ext: "json", mime: "application/json; charset=utf-8" },
  markdown: { ext: "md", mime: "text/markdown; charset=utf-8" },
  pdf: { ext: "pdf", mime: "application/pdf" },
} as const;

function renderPart(e: ExportRow, rows: ExportConversation[]): string {
  switch (e.format) {
    case "csv":
      return csvRows(rows, e.options);
    case "json":
      return jsonRows(rows);
    case "markdown":
      return markdownRows(rows, e.options);
    case "pdf":
      return pdfBlocks(rows, e.options);
  }
}

async function assemble(e: ExportRow, parts: string[], count: number): Promise<Uint8Array> {
  const header: ExportHeader = { id: e.id, format: e.format, created_at: e.createdAt.toISOString(), filters: e.filters, options: e.options, count };
  const enc = new TextEncoder();
  switch (e.format) {
    case "csv":
      return enc.encode(csvHeader(e.options) + parts.join(""));
    case "json":
      return enc.encode(jsonDocument(header, parts));
    case "markdown":
      return enc.encode(markdownDocument(header, parts));
    case "pdf":
      return buildPdf(header, parts);
  }
}

/** Thrown when the delivery arrived before the previous chunk committed: QStash retries it later. */
class NotYet extends DependencyError {}

export async function runExportChunk(tx: Tx, payload: ExportPayload, meta: Pick<JobMeta, "retried" | "services">) {
  const { storage, queue } = meta.services;
  const [e] = await tx
    .select()
    .from(exports)
    .where(and(eq(exports.workspaceId, payload.workspace_id), eq(exports.id, payload.export_id)))
    .for("update")
    .limit(1);
  if (!e) return { skipped: "no such export" };
  if (e.status !== "processing") return { skipped: `export is ${e.status}` };
  // Chunks before parts are done already; a later one means the previous chunk has not committed yet.
  if (payload.chunk < e.parts) return { skipped: `chunk ${payload.chunk} already rendered` };
  if (payload.chunk > e.parts) throw new NotYet(`export ${e.id}: chunk ${payload.chunk} arrived before chunk ${e.parts} committed`);

  try {
    const limit = chunkSize(e);
    const { data, more, cursor } = await loadChunk(tx, e.workspaceId, e.filters, e.options, e.cursor ?? null, limit);
    const processed = e.processed + data.length;
    let parts = e.parts;
    if (data.length) {
      await storage.put(partKey(e, parts), new TextEncoder().encode(renderPart(e, data)), "text/plain; charset=utf-8");
      parts += 1;
    }
    if (more) {
      const progress = Math.min(99, Math.floor((processed * 100) / Math.max(e.total, processed, 1)));
      await tx.update(exports).set({ parts, processed, cursor, progress, updatedAt: new Date() }).where(eq(exports.id, e.id));
      await queue.publish("exports", { workspace_id: e.workspaceId, export_id: e.id, chunk: parts }, { deduplicationId: exportJobKey(e.id, parts), retries: EXPORT_JOB_RETRIES });
      return { chunk: payload.chunk, rows: data.length };
    }
    await finish(tx, storage, e, parts, processed);
    return { chunk: payload.chunk, rows: data.length, completed: true };
  } catch (err) {
    // A deadlock or serialization failure rolled the transaction back: nothing can be written in
    // it, and the next delivery runs the chunk again.
    if (transactionConflict(err)) throw err;
    if (err instanceof DependencyError && meta.retried < EXPORT_JOB_RETRIES) throw err;
    if (isTransient(err) && meta.retried < EXPORT_JOB_RETRIES) throw err;
    // Out of retries, or a failure retrying cannot fix: the export is failed, with the reason.
    console.error(JSON.stringify({ msg: "export failed", export_id: e.id, workspace_id: e.workspaceId, error: describeError(err) }));
    await tx
      .update(exports)
      .set({ status: "failed", error: { code: "export_failed", message: "The export could not be rendered. Request it again; if it keeps failing, contact support with its id." }, updatedAt: new Date(), completedAt: new Date() })
      .where(eq(exports.id, e.id));
    return { failed: true };
  }
}

function isTransient(err: unknown): boolean {
  const m = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /ECONN|timeout|terminated|unavailable|fetch failed|socket/i.test(m);
}

async function finish(tx: Tx, storage: Storage, e: ExportRow, parts: number, processed: number) {
  const texts: string[] = [];
  for (let n = 0; n < parts; n++) {
    const obj = await storage.get(partKey(e, n));
    if (!obj) throw new Error(`export ${e.id}: part ${n} is missing from storage`);
    texts.push(new TextDecoder().decode(obj.body));
  }
  const body = await assemble(e, texts, processed);
  const fileId = newId("file");
  const kind = FORMAT_FILE[e.format];
  const key = `${e.workspaceId}/${fileId}`;
  await storage.put(key, body, kind.mime);
  const day = e.createdAt.toISOString().slice(0, 10);
  await tx.insert(files).values({
    id: fileId,
    workspaceId: e.workspaceId,
    kind: "export",
    filename: `parley-export-${day}-${e.id}.${kind.ext}`,
    size: body.byteLength,
    mimeType: kind.mime,
    storageKey: key,
    createdBy: e.createdBy,
  });
  const now = new Date();
  await tx
    .update(exports)
    .set({ status: "completed", progress: 100, parts, processed, fileId, updatedAt: now, completedAt: now })
    .where(eq(exports.id, e.id));
  // The parts are no longer needed. (Should the commit fail after this, the retry finds them
  // gone and the export is marked failed rather than completed with missing rows.)
  await Promise.all(Array.from({ length: parts }, (_, n) => storage.delete(partKey(e, n)).catch(() => undefined)));
}

export const app = createJobApp("exports", ExportPayload, (tx, payload, meta) => runExportChunk(tx, payload, meta), {
  summary: "Render an export",
  description:
    "Renders one chunk of an export (the next conversations after its cursor) into a part in storage, moves its progress, and publishes the next chunk; the delivery that reaches the end assembles the parts into the export's file (csv, json, markdown or pdf) and marks it completed. A chunk that arrives before the previous one committed is answered 503 (QStash retries it); a chunk already rendered is a no-op. A rendering failure, or a transient one on the last attempt, marks the export failed with the error.",
});
