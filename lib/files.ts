// File records as the API shows them, and the checks other areas make against them: the
// conversation's `attachments` (with signed links) and message `attachment_ids`. The files
// function (functions/files) owns uploads; this is what the conversations function needs too,
// without bundling the upload code.
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "./db";
import { ApiError } from "./errors";
import type { Services } from "./services";
import { type SignedLink, signedFileUrl } from "./signed-url";
import { files } from "../schema/files";

export type FileRow = typeof files.$inferSelect;

export const fileJson = (f: FileRow) => ({
  id: f.id,
  filename: f.filename,
  size: f.size,
  mime_type: f.mimeType,
  kind: f.kind,
  conversation_id: f.conversationId,
  message_id: f.messageId,
  created_at: f.createdAt.toISOString(),
});

export const attachmentJson = (f: FileRow, link: SignedLink) => ({
  id: f.id,
  filename: f.filename,
  size: f.size,
  mime_type: f.mimeType,
  url: link.url,
  url_expires_at: link.expires_at,
  conversation_id: f.conversationId,
  message_id: f.messageId,
  created_at: f.createdAt.toISOString(),
});

/** A signed link to a file's bytes (needs FILES_SIGNING_KEY and PUBLIC_BASE_URL). */
export function linkFor(services: Pick<Services, "config">, f: Pick<FileRow, "id" | "workspaceId">, ttl?: number, now?: number): Promise<SignedLink> {
  const { filesSigningKey, publicBaseUrl } = services.config;
  if (!filesSigningKey || !publicBaseUrl) {
    throw new ApiError("internal_error", "Signed download links are not configured.", { cause: "FILES_SIGNING_KEY and PUBLIC_BASE_URL are required for download links" });
  }
  return signedFileUrl({ secret: filesSigningKey, baseUrl: publicBaseUrl }, f, ttl, now);
}

/** The live files attached to a conversation, oldest first. */
export async function conversationAttachments(db: Db, workspaceId: string, conversationId: string): Promise<FileRow[]> {
  return db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), eq(files.conversationId, conversationId), isNull(files.deletedAt)))
    .orderBy(asc(files.createdAt), asc(files.id));
}

export async function attachmentsWithLinks(services: Pick<Services, "config" | "db">, workspaceId: string, conversationId: string) {
  const rows = await conversationAttachments(services.db, workspaceId, conversationId);
  return Promise.all(rows.map(async (f) => attachmentJson(f, await linkFor(services, f))));
}

/**
 * Message `attachment_ids` must name live files of the workspace: any other id (unknown,
 * deleted, another workspace's) is a 422 naming each offending position. Returns the rows.
 */
export async function checkAttachmentIds(db: Db, workspaceId: string, ids: readonly string[], field = "attachment_ids"): Promise<FileRow[]> {
  if (!ids.length) return [];
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.workspaceId, workspaceId), inArray(files.id, [...new Set(ids)]), isNull(files.deletedAt)));
  const found = new Set(rows.map((r) => r.id));
  const fields: Record<string, string[]> = {};
  ids.forEach((id, i) => {
    if (!found.has(id)) fields[`${field}.${i}`] = ["No such file in this workspace."];
  });
  if (Object.keys(fields).length) throw new ApiError("validation_error", "Some attachment ids do not name files of this workspace.", { details: { fields } });
  return rows;
}

/**
 * Ties files a message references to its conversation (those not attached anywhere yet), so
 * they show in the conversation's `attachments`. The UPDATE, not yet run (none without ids): a
 * statement of the message's batch or transaction.
 */
export function attachToMessage(db: Db, workspaceId: string, conversationId: string, messageId: string, ids: readonly string[]) {
  if (!ids.length) return undefined;
  return db
    .update(files)
    .set({ conversationId, messageId })
    .where(and(eq(files.workspaceId, workspaceId), inArray(files.id, [...new Set(ids)]), isNull(files.conversationId), isNull(files.deletedAt)));
}
