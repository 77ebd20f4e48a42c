// /v1/exports: exports of the workspace's conversations as csv, json, markdown or pdf. Requesting
// one answers 202 at once; the exports job renders it in chunks (progress 0–100) into a file,
// downloadable by a signed link once completed.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, paginationQuery } from "../../lib/pagination";
import { listWithExample } from "../tags/schemas";
import { CreateExportBody, EXPORT_EXAMPLE, ExportAccepted, ExportIdParam, ExportObject } from "./schemas";
import { createExport, exportJson, findExport, listExports } from "./service";

const TAGS = ["Exports"];

const create = createRoute({
  method: "post",
  path: "/v1/exports",
  operationId: "createExport",
  tags: TAGS,
  summary: "Request an export",
  description: [
    "Exports the workspace's conversations that pass `filters` (the same filters as search; oldest first) as `csv` (RFC 4180, CRLF line ends, a header row; a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so spreadsheets do not run it as a formula),",
    "`json` (`{export: {...}, conversations: [...]}`), `markdown` or `pdf` (A4, Helvetica; characters outside Latin-1/WinAnsi are written as `?`).",
    "`options.include_messages` adds each conversation's messages (a `messages` column in CSV), `options.include_attachments` its attachments' names, sizes and types.",
    "Answers 202 at once with `status: processing`; poll `GET /v1/exports/{id}` until `completed` (with `download_url`) or `failed` (with `error`).",
    "Any agent may export. The file counts toward the workspace's storage.",
  ].join(" "),
  request: { body: jsonBody(CreateExportBody) },
  responses: { 202: jsonContent(ExportAccepted, "Accepted: rendering"), ...errorResponses(401, 403) },
});

const list = createRoute({
  method: "get",
  path: "/v1/exports",
  operationId: "listExports",
  tags: TAGS,
  summary: "List exports",
  description: "Newest first.",
  request: { query: paginationQuery },
  responses: { 200: jsonContent(listWithExample(ExportObject, EXPORT_EXAMPLE, "/v1/exports"), "A page of exports"), ...errorResponses(401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/exports/{id}",
  operationId: "getExport",
  tags: TAGS,
  summary: "Get an export",
  description: "Its status and progress; once `completed`, `size_mb`, and a signed `download_url` valid for an hour without credentials (`expires_at`); every read gives a fresh link.",
  request: { params: ExportIdParam },
  responses: { 200: jsonContent(ExportObject, "The export"), ...errorResponses(401, 403, 404) },
});

export const exportsRouter = createRouter()
  .openapi(create, async (c) => {
    const p = c.var.principal;
    const row = await createExport(c.var.services, p.workspaceId, c.req.valid("json"), actorOf(p));
    return c.json({ id: row.id, status: "processing" as const, progress: 0 as const, format: row.format, created_at: row.createdAt.toISOString() }, 202);
  })
  .openapi(list, async (c) => {
    const { page, per_page } = c.req.valid("query");
    const { services } = c.var;
    const { rows, total } = await listExports(services.db, c.var.principal.workspaceId, { page, per_page });
    const data = await Promise.all(rows.map((r) => exportJson(services, r)));
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, data, services.config.publicBaseUrl), 200);
  })
  .openapi(get, async (c) => {
    const { services } = c.var;
    const r = await findExport(services.db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(await exportJson(services, r), 200);
  });
