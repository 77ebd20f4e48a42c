// /v1/agents: the people of a workspace. Listing is open to every member (agents need
// their teammates to assign conversations); creating, role changes and removal are admin-only.
import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { Deleted, jsonBody, jsonContent, listOf } from "../../lib/openapi";
import { listEnvelope, paginationQuery, parseSort, sortQuery } from "../../lib/pagination";
import { AGENT_SORTS, changeRole, createAgent, deleteAgent, listAgents } from "./agents.service";
import { Agent, CreateAgentBody, IdParam, RoleBody, RoleEnum } from "./schemas";
import { agentJson } from "./service";

const list = createRoute({
  method: "get",
  path: "/v1/agents",
  operationId: "listAgents",
  tags: ["Agents"],
  summary: "List agents",
  description: "Any member of the workspace (and API keys with `read`) may list its agents, so that conversations can be assigned. Filter by `role`.",
  request: { query: paginationQuery.extend({ role: RoleEnum.optional(), sort: sortQuery(AGENT_SORTS, "-created_at") }) },
  responses: { 200: jsonContent(listOf(Agent), "A page of agents"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/agents",
  operationId: "createAgent",
  tags: ["Agents"],
  summary: "Add an agent",
  description:
    "Admin-only. Creates an agent who can sign in with this email and password. Emails are unique across Parley (409). `role` defaults to `agent`; only an owner may create an owner (403).",
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(CreateAgentBody) },
  responses: { 201: jsonContent(Agent, "The new agent"), ...errorResponses(401, 403, 409) },
});

const setRole = createRoute({
  method: "post",
  path: "/v1/agents/{id}/role",
  operationId: "setAgentRole",
  tags: ["Agents"],
  summary: "Change an agent's role",
  description:
    "Admin-only. Only an owner may grant or remove `owner` (403). The last owner cannot be demoted (409). The change applies to access tokens already issued too: at once in the instance that made it, within 5 s elsewhere (credential cache).",
  middleware: [requireRole("admin")] as const,
  request: { params: IdParam("agt"), body: jsonBody(RoleBody) },
  responses: { 200: jsonContent(Agent, "The agent with the new role"), ...errorResponses(401, 403, 404, 409) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/agents/{id}",
  operationId: "deleteAgent",
  tags: ["Agents"],
  summary: "Remove an agent",
  description:
    "Admin-only. Deletes the agent and signs them out everywhere (refresh tokens, cookie sessions and access tokens stop working). Only an owner may remove an owner (403); the last owner cannot be removed (409). Conversations assigned to them become unassigned.",
  middleware: [requireRole("admin")] as const,
  request: { params: IdParam("agt") },
  responses: { 200: jsonContent(Deleted, "Removed"), ...errorResponses(401, 403, 404, 409) },
});

export const agentsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof AGENT_SORTS)[number]>(q.sort, AGENT_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listAgents(db, c.var.principal.workspaceId, q, sort, q.role);
    return c.json(listEnvelope(c.req.url, q, total, rows.map(agentJson), config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const p = c.var.principal;
    const role = body.role ?? "agent";
    if (role === "owner" && p.role !== "owner") throw new ApiError("forbidden", "Only an owner may grant or remove the owner role.");
    const agent = await createAgent(c.var.services.db, p.workspaceId, { ...body, role });
    return c.json(agentJson(agent), 201);
  })
  .openapi(setRole, async (c) => {
    const { id } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const agent = await changeRole(c.var.services.db, c.var.principal, id, role);
    return c.json(agentJson(agent), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deleteAgent(c.var.services.db, c.var.principal, id);
    return c.json({ deleted: true as const, id }, 200);
  });
