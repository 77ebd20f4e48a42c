// /v1/files: uploads not (yet) tied to a conversation, their records, and signed downloads. The
// bytes are served by GET /v1/files/{id}/content to anyone holding an unexpired signed link
// (no credentials: a browser or a mail client can follow it), never otherwise.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { fileJson, linkFor } from "../../lib/files";
import { jsonContent } from "../../lib/openapi";
import { contentDisposition, verifyFileLink } from "../../lib/signed-url";
import { ContentQuery, DownloadLink, FileIdParam, FileObject, UploadForm } from "./schemas";
import { getFile, readFileBytes, storeFile } from "./service";

const TAGS = ["Files"];

export const UPLOAD_DESCRIPTION =
  "Send `multipart/form-data` with one part named `file` (its filename and content type are kept). A file over 25 MiB is refused with 413 `payload_too_large` (a `Content-Length` over the limit is refused before the body is read); an upload that would take the workspace past its storage quota (by plan: free 1 GiB, starter 10 GiB, pro 50 GiB, enterprise 500 GiB) is refused with 413 `payload_too_large` and `details.reason: \"storage_quota_exceeded\"` (with `used_bytes`, `file_bytes`, `limit_bytes`). A body that is not multipart, or malformed multipart, is 400 `bad_request`; a multipart body without a `file` part is 422.";

const upload = createRoute({
  method: "post",
  path: "/v1/files",
  operationId: "uploadFile",
  tags: TAGS,
  summary: "Upload a file",
  description: `Stores a file that is not yet tied to a conversation (attach it later with \`POST /v1/conversations/{id}/attachments\` \`{file_id}\`, or reference it in a message's \`attachment_ids\`). ${UPLOAD_DESCRIPTION}`,
  request: { body: { content: { "multipart/form-data": { schema: UploadForm } }, required: true, description: "The file" } },
  responses: { 201: jsonContent(FileObject, "The stored file"), ...errorResponses(401, 403, 413) },
});

const get = createRoute({
  method: "get",
  path: "/v1/files/{id}",
  operationId: "getFile",
  tags: TAGS,
  summary: "Get a file's record",
  request: { params: FileIdParam },
  responses: { 200: jsonContent(FileObject, "The file"), ...errorResponses(401, 403, 404) },
});

const download = createRoute({
  method: "get",
  path: "/v1/files/{id}/download",
  operationId: "getFileDownloadLink",
  tags: TAGS,
  summary: "Get a signed download link",
  description:
    "An absolute URL that serves the file's bytes without credentials until `expires_at` (15 minutes). The link is signed (HMAC-SHA256 over the file id, its workspace and the expiry, with `FILES_SIGNING_KEY`): changing any part of it, or using it after it expires, is refused with 401.",
  request: { params: FileIdParam },
  responses: { 200: jsonContent(DownloadLink, "The signed link"), ...errorResponses(401, 403, 404) },
});

const content = createRoute({
  method: "get",
  path: "/v1/files/{id}/content",
  operationId: "downloadFileContent",
  tags: TAGS,
  summary: "Download a file (signed link)",
  description:
    "What a signed link from `GET /v1/files/{id}/download` (or an attachment's `url`, or an export's `download_url`) points to. Needs no credentials: the query's `signature` is the authorization. Answers the bytes with the file's `Content-Type`, `Content-Disposition: attachment` (a safe ASCII filename plus the exact one as `filename*`), `X-Content-Type-Options: nosniff` and a sandboxing `Content-Security-Policy`. A missing, altered or expired link is 401; a deleted file is 404.",
  security: [],
  request: { params: FileIdParam, query: ContentQuery },
  responses: {
    200: { description: "The file's bytes", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
    ...errorResponses(401, 404),
  },
});

export const filesRouter = createRouter()
  .openapi(upload, async (c) => {
    const p = c.var.principal;
    const row = await storeFile(c.var.services, p.workspaceId, c.req.valid("form").file, { kind: "upload", createdBy: actorOf(p) });
    return c.json(fileJson(row), 201);
  })
  .openapi(get, async (c) => {
    const row = await getFile(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(fileJson(row), 200);
  })
  .openapi(download, async (c) => {
    const row = await getFile(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(await linkFor(c.var.services, row), 200);
  })
  .openapi(content, async (c) => {
    const { services } = c.var;
    const { id } = c.req.valid("param");
    const secret = services.config.filesSigningKey;
    if (!secret) throw new ApiError("internal_error", "Signed download links are not configured.", { cause: "FILES_SIGNING_KEY is not set" });
    const check = await verifyFileLink(secret, id, c.req.valid("query"));
    if (!check.ok) {
      throw new ApiError("unauthorized", check.reason === "expired" ? "This download link has expired; ask the API for a new one." : "This download link is invalid.");
    }
    const { file, body } = await readFileBytes(services, check.workspaceId, id);
    return new Response(body as unknown as BodyInit, {
      status: 200,
      headers: {
        "Content-Type": file.mimeType,
        "Content-Length": String(body.byteLength),
        "Content-Disposition": contentDisposition(file.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "X-Request-Id": c.var.requestId,
      },
    }) as never;
  });
