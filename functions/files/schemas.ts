// Request and response schemas of files and conversation attachments.
import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../lib/openapi";
import { safeParam } from "../../lib/safe-text";
import { FILE_KINDS } from "../../schema/files";

const FILE_ID = "file_01jd3k9v6q8f2m4x7c5b0n1p2r";
const CONV_ID = "conv_01jd3k9v6q8f2m4x7c5b0n1p2r";
const LINK = `https://api.parley.example/v1/files/${FILE_ID}/content?ws=ws_01jd3k9v6q8f2m4x7c5b0n1p2r&expires=1795176000&signature=3q2-7wX0m9b1c4v6n8k0j2h4g6f8d0s2a4q6w8e0r2t`;

export const FILE_EXAMPLE = {
  id: FILE_ID,
  filename: "invoice-A-1042.pdf",
  size: 48213,
  mime_type: "application/pdf",
  kind: "upload",
  conversation_id: null,
  message_id: null,
  created_at: "2026-11-24T12:00:00.000Z",
};

export const FileObject = z
  .object({
    id: z.string().openapi({ example: FILE_ID }),
    filename: z.string().openapi({ example: "invoice-A-1042.pdf" }),
    size: z.number().int().openapi({ example: 48213, description: "Bytes." }),
    mime_type: z.string().openapi({ example: "application/pdf" }),
    kind: z.enum(FILE_KINDS).openapi({ example: "upload", description: "`upload` (POST /v1/files), `attachment` (uploaded to a conversation), `inbound` (an email's attachment), `export`." }),
    conversation_id: z.string().nullable().openapi({ example: null, description: "The conversation the file is attached to, if any." }),
    message_id: z.string().nullable().openapi({ example: null, description: "The message that references it, if any." }),
    created_at: Timestamp,
  })
  .openapi("File", { example: FILE_EXAMPLE });

export const ATTACHMENT_EXAMPLE = {
  id: FILE_ID,
  filename: "invoice-A-1042.pdf",
  size: 48213,
  mime_type: "application/pdf",
  url: LINK,
  url_expires_at: "2026-11-24T12:15:00.000Z",
  conversation_id: CONV_ID,
  message_id: null,
  created_at: "2026-11-24T12:00:00.000Z",
};

export const Attachment = z
  .object({
    id: z.string().openapi({ example: FILE_ID, description: "The attached file's id (`DELETE /v1/attachments/{id}` takes it)." }),
    filename: z.string().openapi({ example: "invoice-A-1042.pdf" }),
    size: z.number().int().openapi({ example: 48213 }),
    mime_type: z.string().openapi({ example: "application/pdf" }),
    url: z.string().url().openapi({ example: LINK, description: "Signed link to the bytes, valid without credentials until `url_expires_at` (15 minutes)." }),
    url_expires_at: Timestamp,
    conversation_id: z.string().nullable().openapi({ example: CONV_ID }),
    message_id: z.string().nullable().openapi({ example: null }),
    created_at: Timestamp,
  })
  .openapi("Attachment", { example: ATTACHMENT_EXAMPLE });

export const DownloadLink = z
  .object({
    url: z.string().url().openapi({ example: LINK }),
    expires_at: Timestamp.openapi({ example: "2026-11-24T12:15:00.000Z" }),
  })
  .openapi("DownloadLink", { example: { url: LINK, expires_at: "2026-11-24T12:15:00.000Z" } });

/** A multipart upload: one part named `file`. */
export const UploadForm = z
  .object({
    file: z
      .custom<File>((v) => typeof File !== "undefined" && v instanceof File, "Must be a file part named `file`.")
      .openapi({ type: "string", format: "binary", description: "The file (at most 25 MiB)." }),
  })
  .openapi("FileUpload");

export const AttachBody = z
  .object({ file_id: safeParam(200).min(1).openapi({ example: FILE_ID, description: "A file of this workspace (from `POST /v1/files`)." }) })
  .strict()
  .openapi("AttachFile", { example: { file_id: FILE_ID } });

export const FileIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: FILE_ID }),
});
export const ConversationIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: CONV_ID }),
});

export const ContentQuery = z.object({
  ws: z.string().max(200).optional().openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r", description: "The file's workspace (signed)." }),
  expires: z.string().max(20).optional().openapi({ example: "1795176000", description: "Unix seconds after which the link is refused (signed)." }),
  signature: z.string().max(200).optional().openapi({ example: "3q2-7wX0m9b1c4v6n8k0j2h4g6f8d0s2a4q6w8e0r2t", description: "base64url HMAC-SHA256 of the file id, workspace and expiry." }),
});

export const DetachedAttachment = z
  .object({ deleted: z.literal(true), id: z.string(), file_deleted: z.boolean() })
  .openapi("DeletedAttachment", {
    example: { deleted: true, id: FILE_ID, file_deleted: true },
    description: "`file_deleted`: true when the file was uploaded to the conversation (it is gone with the attachment); false when it was an upload attached by `file_id` (it stays, detached).",
  });
