// /v1/api-keys: list, create (the key is shown once), revoke. Admin-only.
import { createRoute } from "@hono/zod-openapi";
import { requireRole, SCOPES, type Scope } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { Deleted, jsonBody, jsonContent, listOf } from "../../lib/openapi";
import { listEnvelope, paginationQuery, parseSort, sortQuery } from "../../lib/pagination";
import { API_KEY_SORTS, apiKeyJson, createApiKey, listApiKeys, revokeApiKey } from "./api-keys.service";
import { ApiKey, CreateApiKeyBody, CreatedApiKey, IdParam } from "./schemas";

const DEFAULT_SCOPES: Scope[] = ["read", "write"];

const list = createRoute({
  method: "get",
  path: "/v1/api-keys",
  operationId: "listApiKeys",
  tags: ["API keys"],
  summary: "List API keys",
  description: "Admin-only. Every key of the workspace, revoked ones included (with `revoked_at`). Never shows a key or its hash, only its `prefix`.",
  middleware: [requireRole("admin")] as const,
  request: { query: paginationQuery.extend({ sort: sortQuery(API_KEY_SORTS, "-created_at") }) },
  responses: { 200: jsonContent(listOf(ApiKey), "A page of API keys"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/api-keys",
  operationId: "createApiKey",
  tags: ["API keys"],
  summary: "Create an API key",
  description:
    'Admin-only. Answers the full key in `key` once; Parley stores only its SHA-256. Scopes default to `["read", "write"]`; `admin` lets the key do what an admin can. An API key can only give the new key scopes it holds itself (403 otherwise).',
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(CreateApiKeyBody) },
  responses: { 201: jsonContent(CreatedApiKey, "The new key, shown this once"), ...errorResponses(401, 403) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  operationId: "revokeApiKey",
  tags: ["API keys"],
  summary: "Revoke an API key",
  description: "Admin-only. The key stops working (at once in the instance that revoked it, within 5 s elsewhere: credential cache) and stays in the list with `revoked_at`. Revoking a revoked key again answers the same.",
  middleware: [requireRole("admin")] as const,
  request: { params: IdParam("key") },
  responses: { 200: jsonContent(Deleted, "Revoked"), ...errorResponses(401, 403, 404) },
});

export const apiKeysRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof API_KEY_SORTS)[number]>(q.sort, API_KEY_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listApiKeys(db, c.var.principal.workspaceId, q, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows.map(apiKeyJson), config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const p = c.var.principal;
    const scopes = SCOPES.filter((s) => (body.scopes ?? DEFAULT_SCOPES).includes(s));
    if (p.via === "api_key") {
      const extra = scopes.filter((s) => !p.scopes.includes(s));
      if (extra.length) throw new ApiError("forbidden", `This API key cannot grant scopes it does not hold: ${extra.join(", ")}.`, { details: { scopes: extra } });
    }
    const expiresAt = body.expires_at ? new Date(body.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: { expires_at: ["Must be in the future."] } } });
    }
    const { row, key } = await createApiKey(c.var.services.db, {
      workspaceId: p.workspaceId,
      name: body.name,
      scopes,
      expiresAt,
      createdBy: p.agentId ?? p.apiKeyId ?? null,
    });
    return c.json({ ...apiKeyJson(row), key }, 201);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await revokeApiKey(c.var.services.db, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id }, 200);
  });
