// /v1/assistants: CRUD of the workspace's AI assistants. Any agent (and any API key with the
// needed scope) may manage them: the contract's admin-only list does not include assistants.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { Deleted, jsonBody, jsonContent, listOf } from "../../lib/openapi";
import { listEnvelope, paginationQuery, parseSort, sortQuery } from "../../lib/pagination";
import { ASSISTANT_SORTS, assistantJson, createAssistant, deleteAssistant, findAssistant, listAssistants, updateAssistant } from "./assistants.service";
import { Assistant, CreateAssistantBody, PathId, UpdateAssistantBody } from "./schemas";
import { assertModelAllowed } from "../../lib/ai-limits";

const TAGS = ["Assistants"];
const IdParam = PathId("id", "ast");

const list = createRoute({
  method: "get",
  path: "/v1/assistants",
  operationId: "listAssistants",
  tags: TAGS,
  summary: "List assistants",
  description: "Every assistant of the workspace. Any agent may read, create, change and delete assistants (API keys need `read` / `write`).",
  request: { query: paginationQuery.extend({ sort: sortQuery(ASSISTANT_SORTS, "-created_at") }) },
  responses: { 200: jsonContent(listOf(Assistant), "A page of assistants"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/assistants",
  operationId: "createAssistant",
  tags: TAGS,
  summary: "Create an assistant",
  description:
    "`instructions` become the system message of every chat with this assistant; `knowledge` is text it may quote (appended to the system message; the offline provider quotes the sentences that share words with the question). `model` null uses the server's default; `temperature` is 0 to 2.",
  request: { body: jsonBody(CreateAssistantBody) },
  responses: { 201: jsonContent(Assistant, "The new assistant"), ...errorResponses(401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/assistants/{id}",
  operationId: "getAssistant",
  tags: TAGS,
  summary: "Get an assistant",
  request: { params: IdParam },
  responses: { 200: jsonContent(Assistant, "The assistant"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/assistants/{id}",
  operationId: "updateAssistant",
  tags: TAGS,
  summary: "Update an assistant",
  description: "Changes the fields given; `null` clears model, temperature or knowledge.",
  request: { params: IdParam, body: jsonBody(UpdateAssistantBody) },
  responses: { 200: jsonContent(Assistant, "The updated assistant"), ...errorResponses(401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/assistants/{id}",
  operationId: "deleteAssistant",
  tags: TAGS,
  summary: "Delete an assistant",
  description: "Its conversations stay, with their `assistant_id` as a record of who answered.",
  request: { params: IdParam },
  responses: { 200: jsonContent(Deleted, "Deleted"), ...errorResponses(401, 403, 404) },
});

export const assistantsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof ASSISTANT_SORTS)[number]>(q.sort, ASSISTANT_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listAssistants(db, c.var.principal.workspaceId, q, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows.map(assistantJson), config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    assertModelAllowed(c.var.services.llm, body.model);
    const row = await createAssistant(c.var.services.db, c.var.principal.workspaceId, body);
    return c.json(assistantJson(row), 201);
  })
  .openapi(get, async (c) => {
    const row = await findAssistant(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(assistantJson(row), 200);
  })
  .openapi(update, async (c) => {
    const body = c.req.valid("json");
    assertModelAllowed(c.var.services.llm, body.model);
    const row = await updateAssistant(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id, body);
    return c.json(assistantJson(row), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deleteAssistant(c.var.services.db, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id }, 200);
  });
