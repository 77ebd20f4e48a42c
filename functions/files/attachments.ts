// Conversation attachments: GET/POST /v1/conversations/{id}/attachments and
// DELETE /v1/attachments/{id}. An attachment is a file tied to a conversation; its id is the
// file's. These paths sit under the conversations function's prefix but are answered here (the
// upload code and its body limit live in the files function): functions/registry.ts routes them
// locally, and at the edge the conversations Worker forwards them through a service binding.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { attachmentJson, linkFor } from "../../lib/files";
import { jsonContent } from "../../lib/openapi";
import { listEnvelope, paginationQuery } from "../../lib/pagination";
import { UPLOAD_DESCRIPTION } from "./files";
import { ATTACHMENT_EXAMPLE, AttachBody, Attachment, ConversationIdParam, DetachedAttachment, FileIdParam, UploadForm } from "./schemas";
import { attachExisting, listAttachments, removeAttachment, storeFile } from "./service";
import { listWithExample } from "../tags/schemas";

const TAGS = ["Attachments"];

const list = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/attachments",
  operationId: "listAttachments",
  tags: TAGS,
  summary: "List a conversation's attachments",
  description: "Oldest first. Each has a signed `url` to its bytes, valid for 15 minutes without credentials.",
  request: { params: ConversationIdParam, query: paginationQuery },
  responses: { 200: jsonContent(listWithExample(Attachment, ATTACHMENT_EXAMPLE, "/v1/conversations/conv_01jd3k9v6q8f2m4x7c5b0n1p2r/attachments"), "A page of attachments"), ...errorResponses(401, 403, 404) },
});

const create = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/attachments",
  operationId: "createAttachment",
  tags: TAGS,
  summary: "Attach a file to a conversation",
  description: `Either upload the file here (multipart, as for \`POST /v1/files\`) or attach an existing upload with JSON \`{"file_id": "file_…"}\` (an unknown or another workspace's file is 422; a file attached to another conversation is 409; attaching it again to the same conversation answers it unchanged). ${UPLOAD_DESCRIPTION}`,
  request: {
    params: ConversationIdParam,
    body: { content: { "multipart/form-data": { schema: UploadForm }, "application/json": { schema: AttachBody } }, required: false, description: "The file, or the id of an uploaded one" },
  },
  responses: { 201: jsonContent(Attachment, "The attachment"), ...errorResponses(401, 403, 404, 409, 413) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/attachments/{id}",
  operationId: "deleteAttachment",
  tags: TAGS,
  summary: "Remove an attachment",
  description:
    "Takes the file off its conversation. A file that was uploaded to the conversation is deleted with it (its bytes too, and its links stop working); an upload attached by `file_id` is only detached and stays a file of the workspace.",
  request: { params: FileIdParam },
  responses: { 200: jsonContent(DetachedAttachment, "Removed"), ...errorResponses(401, 403, 404) },
});

export const attachmentsRouter = createRouter()
  .openapi(list, async (c) => {
    const { page, per_page } = c.req.valid("query");
    const { services } = c.var;
    const ws = c.var.principal.workspaceId;
    const { rows, total } = await listAttachments(services.db, ws, c.req.valid("param").id, { page, per_page });
    const data = await Promise.all(rows.map(async (f) => attachmentJson(f, await linkFor(services, f))));
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, data, services.config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const p = c.var.principal;
    const { services } = c.var;
    const { id } = c.req.valid("param");
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    let row: Awaited<ReturnType<typeof attachExisting>>;
    if (type.startsWith("multipart/form-data")) {
      row = await storeFile(services, p.workspaceId, (c.req.valid("form") as { file: File }).file, { kind: "attachment", conversationId: id, createdBy: actorOf(p) });
    } else if (type && /json/.test(type)) {
      row = await attachExisting(services.db, p.workspaceId, id, (c.req.valid("json") as { file_id: string }).file_id);
    } else {
      throw new ApiError("bad_request", "Send the file as multipart/form-data (a part named `file`), or JSON `{\"file_id\": \"file_…\"}`.");
    }
    return c.json(attachmentJson(row, await linkFor(services, row)), 201);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const { fileDeleted } = await removeAttachment(c.var.services, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id, file_deleted: fileDeleted }, 200);
  });
