// /v1/tags: the workspace's tags (name unique case-insensitively, color, description).
// Any agent may manage them; deleting one removes it from every contact, session and
// conversation.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, paginationQuery, parseSort, sortQuery } from "../../lib/pagination";
import { CreateTagBody, DeletedTag, listWithExample, TAG_EXAMPLE, TagIdParam, TagWithCounts, UpdateTagBody } from "./schemas";
import { createTag, deleteTag, getTagWithCounts, listTags, TAG_SORTS, type TagSort, tagWithCountsJson, updateTag } from "./service";

const IdParam = TagIdParam;
const ZERO = { contacts: 0, sessions: 0, conversations: 0 };

const list = createRoute({
  method: "get",
  path: "/v1/tags",
  operationId: "listTags",
  tags: ["Tags"],
  summary: "List workspace tags",
  description: "Every tag of the workspace with how many contacts, sessions and conversations carry it.",
  request: { query: paginationQuery.extend({ sort: sortQuery(TAG_SORTS, "-created_at") }) },
  responses: { 200: jsonContent(listWithExample(TagWithCounts, { ...TAG_EXAMPLE, counts: { contacts: 12, sessions: 3, conversations: 40 } }, "/v1/tags"), "A page of tags"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/tags",
  operationId: "createTag",
  tags: ["Tags"],
  summary: "Create a tag",
  description:
    "Names are unique per workspace, compared case-insensitively and without surrounding spaces: a taken name answers 409 with `details.existing_tag_id`. `color` is `#rrggbb` (stored lower-case). Any agent may create tags.",
  request: { body: jsonBody(CreateTagBody) },
  responses: { 201: jsonContent(TagWithCounts, "The new tag"), ...errorResponses(401, 403, 409) },
});

const get = createRoute({
  method: "get",
  path: "/v1/tags/{id}",
  operationId: "getTag",
  tags: ["Tags"],
  summary: "Get a tag",
  request: { params: IdParam },
  responses: { 200: jsonContent(TagWithCounts, "The tag"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/tags/{id}",
  operationId: "updateTag",
  tags: ["Tags"],
  summary: "Update a tag",
  description: "Rename, recolor or describe a tag; `null` clears `color` or `description`. Renaming to a taken name answers 409.",
  request: { params: IdParam, body: jsonBody(UpdateTagBody) },
  responses: { 200: jsonContent(TagWithCounts, "The updated tag"), ...errorResponses(401, 403, 404, 409) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/tags/{id}",
  operationId: "deleteTag",
  tags: ["Tags"],
  summary: "Delete a tag",
  description: "Deletes the tag and removes it from every contact, session and conversation (a `tag.removed` event is written for each).",
  request: { params: IdParam },
  responses: { 200: jsonContent(DeletedTag, "Deleted"), ...errorResponses(401, 403, 404) },
});

export const tagsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<TagSort>(q.sort, TAG_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listTags(db, c.var.principal.workspaceId, q, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const row = await createTag(c.var.services.db, c.var.principal.workspaceId, c.req.valid("json"));
    return c.json(tagWithCountsJson(row, ZERO), 201);
  })
  .openapi(get, async (c) => {
    return c.json(await getTagWithCounts(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200);
  })
  .openapi(update, async (c) => {
    const { db } = c.var.services;
    const ws = c.var.principal.workspaceId;
    const { id } = c.req.valid("param");
    await updateTag(db, ws, id, c.req.valid("json"));
    return c.json(await getTagWithCounts(db, ws, id), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const p = c.var.principal;
    await c.var.services.db.transaction((tx) => deleteTag(tx, p.workspaceId, id, actorOf(p)));
    return c.json({ deleted: true as const, id }, 200);
  });
