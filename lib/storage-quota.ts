// Upload limits: the size of one upload, and each workspace's storage quota by plan. The quota
// counts every live file of the workspace (uploads, attachments, inbound email attachments and
// exports: the `files` table); /v1/account reads the same numbers.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "./db";
import { files, FILE_KINDS } from "../schema/files";

/** Largest single upload (25 MiB). */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

const MiB = 1024 * 1024;

/** Storage quota per plan, in MiB; an unknown plan gets the free plan's. */
export const STORAGE_LIMIT_MB: Readonly<Record<string, number>> = { free: 1024, starter: 10 * 1024, pro: 50 * 1024, enterprise: 500 * 1024 };

export function storageLimitBytes(plan: string | null | undefined): number {
  return (STORAGE_LIMIT_MB[plan ?? "free"] ?? STORAGE_LIMIT_MB.free!) * MiB;
}

/** Bytes held by the workspace's live files. */
export async function storageUsedBytes(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<string>`coalesce(sum(${files.size}), 0)` })
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), isNull(files.deletedAt)));
  return Number(row?.n ?? 0);
}

/** Bytes by kind (upload, attachment, inbound, export), every kind present. */
export async function storageByKind(db: Db, workspaceId: string): Promise<Record<(typeof FILE_KINDS)[number], number>> {
  const rows = await db
    .select({ kind: files.kind, n: sql<string>`coalesce(sum(${files.size}), 0)` })
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), isNull(files.deletedAt)))
    .groupBy(files.kind);
  const out = Object.fromEntries(FILE_KINDS.map((k) => [k, 0])) as Record<(typeof FILE_KINDS)[number], number>;
  for (const r of rows) out[r.kind] = Number(r.n);
  return out;
}
