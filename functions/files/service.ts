// Files and conversation attachments: the one place their SQL and storage calls live. Bytes go
// to storage under `ws_…/file_…` first; the row is written after, in a transaction that holds
// the workspace's quota lock, and the bytes are removed again if that transaction fails.
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import type { FileRow } from "../../lib/files";
import { newId } from "../../lib/ids";
import { offsetOf, type Page } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { MAX_UPLOAD_BYTES, storageLimitBytes, storageUsedBytes } from "../../lib/storage-quota";
import { conversations, workspaces } from "../../schema";
import { files } from "../../schema/files";

const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** The name as the client gave it, without any path, control characters or excess length. */
export function cleanFilename(name: string | undefined): string {
  const base = (name ?? "").split(/[\\/]/).pop() ?? "";
  // Code points; a lone surrogate (which cannot be stored or put in a header) is dropped.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const chars = Array.from(base.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, "")).filter((ch) => !(ch.length === 1 && ch >= "\ud800" && ch <= "\udfff"));
  return chars.slice(0, 255).join("").trim() || "file";
}

/** A stored content type: the client's when it is a plain `type/subtype`, else octet-stream. */
export function cleanMimeType(type: string | undefined): string {
  const t = (type ?? "").split(";")[0]!.trim().toLowerCase();
  return MIME_RE.test(t) ? t : "application/octet-stream";
}

export const tooLarge = () => new ApiError("payload_too_large", `The file is larger than the upload limit of ${MAX_UPLOAD_BYTES} bytes (25 MiB).`, { details: { limit_bytes: MAX_UPLOAD_BYTES } });

function quotaExceeded(used: number, size: number, limit: number) {
  return new ApiError("payload_too_large", "The workspace's storage quota would be exceeded by this file: delete files or change plan.", {
    details: { reason: "storage_quota_exceeded", used_bytes: used, file_bytes: size, limit_bytes: limit },
  });
}

export async function findConversationId(db: Db, workspaceId: string, id: string): Promise<string> {
  const [row] = await db
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, id)))
    .limit(1);
  if (!row) throw notFound("conversation");
  return row.id;
}

export async function getFile(db: Db, workspaceId: string, id: string): Promise<FileRow> {
  const [row] = await db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), eq(files.id, id), isNull(files.deletedAt)))
    .limit(1);
  if (!row) throw notFound("file");
  return row;
}

export interface StoreOptions {
  kind: FileRow["kind"];
  conversationId?: string;
  createdBy: string;
}

/** Stores an uploaded file's bytes and its record, within the upload limit and the quota. */
export async function storeFile(services: Pick<Services, "db" | "storage">, workspaceId: string, file: File, opts: StoreOptions): Promise<FileRow> {
  if (file.size > MAX_UPLOAD_BYTES) throw tooLarge();
  const { db, storage } = services;
  const [ws] = await db.select({ plan: workspaces.plan }).from(workspaces).where(eq(workspaces.id, workspaceId)).limit(1);
  const limit = storageLimitBytes(ws?.plan);
  // A cheap check before the bytes move; the binding one is under the lock below.
  const before = await storageUsedBytes(db, workspaceId);
  if (before + file.size > limit) throw quotaExceeded(before, file.size, limit);

  const id = newId("file");
  const key = `${workspaceId}/${id}`;
  const mimeType = cleanMimeType(file.type);
  const body = new Uint8Array(await file.arrayBuffer());
  await storage.put(key, body, mimeType);
  try {
    return await db.transaction(async (tx) => {
      // One upload at a time per workspace past this point, so two cannot both fit the last space.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`parley:quota:${workspaceId}`}, 0))`);
      const used = await storageUsedBytes(tx, workspaceId);
      if (used + body.byteLength > limit) throw quotaExceeded(used, body.byteLength, limit);
      if (opts.conversationId) await findConversationId(tx, workspaceId, opts.conversationId);
      const [row] = await tx
        .insert(files)
        .values({
          id,
          workspaceId,
          kind: opts.kind,
          filename: cleanFilename(file.name),
          size: body.byteLength,
          mimeType,
          storageKey: key,
          conversationId: opts.conversationId ?? null,
          createdBy: opts.createdBy,
        })
        .returning();
      return row!;
    });
  } catch (err) {
    await storage.delete(key).catch(() => undefined);
    throw err;
  }
}

/** Attaches an existing file to a conversation; attaching it again there is a no-op. */
export async function attachExisting(db: Db, workspaceId: string, conversationId: string, fileId: string): Promise<FileRow> {
  return db.transaction(async (tx) => {
    await findConversationId(tx, workspaceId, conversationId);
    const [file] = await tx
      .select()
      .from(files)
      .where(and(eq(files.workspaceId, workspaceId), eq(files.id, fileId), isNull(files.deletedAt)))
      .for("update")
      .limit(1);
    if (!file) {
      throw new ApiError("validation_error", "No such file in this workspace.", { details: { fields: { file_id: ["No such file in this workspace."] } } });
    }
    if (file.conversationId === conversationId) return file;
    if (file.conversationId) {
      throw new ApiError("conflict", "The file is already attached to another conversation; upload it again to attach it here.", {
        details: { conversation_id: file.conversationId },
      });
    }
    const [row] = await tx.update(files).set({ conversationId }).where(eq(files.id, file.id)).returning();
    return row!;
  });
}

export async function listAttachments(db: Db, workspaceId: string, conversationId: string, page: Page) {
  await findConversationId(db, workspaceId, conversationId);
  const where = and(eq(files.workspaceId, workspaceId), eq(files.conversationId, conversationId), isNull(files.deletedAt));
  const [rows, [count]] = await Promise.all([
    db.select().from(files).where(where).orderBy(asc(files.createdAt), asc(files.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(files).where(where),
  ]);
  return { rows, total: Number(count?.n ?? 0) };
}

/**
 * Removes an attachment. A file uploaded to the conversation goes with it (row marked deleted,
 * bytes removed); an upload attached by id is only detached and stays a file of the workspace.
 */
export async function removeAttachment(services: Pick<Services, "db" | "storage">, workspaceId: string, id: string): Promise<{ fileDeleted: boolean }> {
  const { db, storage } = services;
  const [file] = await db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), eq(files.id, id), isNull(files.deletedAt), sql`${files.conversationId} is not null`))
    .limit(1);
  if (!file) throw notFound("attachment");
  if (file.kind === "attachment") {
    await db
      .update(files)
      .set({ deletedAt: new Date() })
      .where(and(eq(files.workspaceId, workspaceId), eq(files.id, id)));
    await storage.delete(file.storageKey);
    return { fileDeleted: true };
  }
  await db
    .update(files)
    .set({ conversationId: null, messageId: null })
    .where(and(eq(files.workspaceId, workspaceId), eq(files.id, id)));
  return { fileDeleted: false };
}

/** The bytes of a live file named by a verified link (the workspace comes from the link). */
export async function readFileBytes(services: Pick<Services, "db" | "storage">, workspaceId: string, id: string) {
  const file = await getFile(services.db, workspaceId, id);
  const obj = await services.storage.get(file.storageKey);
  if (!obj) throw notFound("file");
  return { file, body: obj.body };
}
