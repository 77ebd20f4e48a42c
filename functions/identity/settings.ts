// /v1/settings: the workspace's name and settings, and an agent's own password.
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { getCookie } from "hono/cookie";
import { requireAgent, requireRole, SESSION_COOKIE } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import type { AppRouteHandler } from "../../lib/env";
import { errorResponses } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { ChangePasswordBody, PasswordChanged, UpdateWorkspaceBody, Workspace } from "./schemas";
import { issueTokenPair, workspaceJson } from "./service";
import { changePassword, getWorkspace, updateWorkspace } from "./settings.service";

const get = createRoute({
  method: "get",
  path: "/v1/settings/workspace",
  operationId: "getWorkspaceSettings",
  tags: ["Settings"],
  summary: "Get the workspace and its settings",
  description: "Any member of the workspace, and API keys with `read`.",
  responses: { 200: jsonContent(Workspace, "The workspace"), ...errorResponses(401, 403) },
});

const updateConfig = {
  path: "/v1/settings/workspace",
  tags: ["Settings"],
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(UpdateWorkspaceBody) },
  responses: { 200: jsonContent(Workspace, "The updated workspace"), ...errorResponses(401, 403) },
} satisfies Omit<RouteConfig, "method">;

const update = createRoute({
  ...updateConfig,
  method: "patch",
  operationId: "updateWorkspaceSettings",
  summary: "Update the workspace",
  description:
    "Admin-only. `name` renames the workspace; `settings` is merged key by key (keys not sent keep their value). `timezone` is an IANA zone; `search_language` is the text-search configuration of the workspace's content (`english` or `simple`).",
});

const updateByPost = createRoute({
  ...updateConfig,
  method: "post",
  operationId: "updateWorkspaceSettingsByPost",
  summary: "Update the workspace (POST alias of PATCH)",
  description: "Admin-only. The same as `PATCH /v1/settings/workspace`, for clients that cannot send PATCH. Accepts `Idempotency-Key`.",
});

const password = createRoute({
  method: "post",
  path: "/v1/settings/password",
  operationId: "changePassword",
  tags: ["Settings"],
  summary: "Change your password",
  description:
    "Agents only (JWT or cookie; an API key gets 403). A wrong `current_password` answers 422 `validation_error` with `details.fields.current_password`: it is a problem of the form, not of the caller's credentials, so clients must not treat it as a signed-out 401. Every refresh token of the agent and every other cookie session is revoked; a JWT caller gets a fresh token pair in `tokens`, a cookie caller keeps the current session. Access tokens already issued live out their 15 minutes.",
  middleware: [requireAgent] as const,
  request: { body: jsonBody(ChangePasswordBody) },
  responses: { 200: jsonContent(PasswordChanged, "Changed"), ...errorResponses(401, 403) },
});

const updateHandler: AppRouteHandler<typeof update> = async (c) => {
  const body = c.req.valid("json");
  const row = await updateWorkspace(c.var.services.db, c.var.principal.workspaceId, body);
  return c.json(workspaceJson(row), 200);
};

export const settingsRouter = createRouter()
  .openapi(get, async (c) => {
    const row = await getWorkspace(c.var.services.db, c.var.principal.workspaceId);
    return c.json(workspaceJson(row), 200);
  })
  .openapi(update, updateHandler)
  .openapi(updateByPost, updateHandler as unknown as AppRouteHandler<typeof updateByPost>)
  .openapi(password, async (c) => {
    const { current_password, new_password } = c.req.valid("json");
    const p = c.var.principal;
    const { db, config } = c.var.services;
    const cookie = p.via === "cookie" ? getCookie(c, SESSION_COOKIE) : undefined;
    const agent = await changePassword(db, { workspaceId: p.workspaceId, agentId: p.agentId! }, {
      current: current_password,
      next: new_password,
      keepSessionHash: cookie ? await sha256Hex(cookie) : undefined,
    });
    const tokens = p.via === "jwt" ? await issueTokenPair(db, agent, config.jwtSecret) : null;
    return c.json({ password_changed: true as const, tokens }, 200);
  });
