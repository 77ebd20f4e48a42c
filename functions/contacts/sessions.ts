// /v1/sessions: a visitor's interaction history, linked to a contact once known.
// Identify finds or creates the contact by email or phone and links it.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listWithExample } from "../tags/schemas";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { IdParam as SessionIdParam, CreateSessionBody, SESSION_EXAMPLE, IdentifyBody, IdentifyResult, SESSION_SORTS, Session, SessionListQuery, UpdateSessionBody } from "./schemas";
import { createSession, getSession, identifySession, listSessions, type SessionSort, updateSession } from "./service";

const IdParam = SessionIdParam("ses");

const list = createRoute({
  method: "get",
  path: "/v1/sessions",
  operationId: "listSessions",
  tags: ["Sessions"],
  summary: "List sessions",
  description: "Filters: `contact_id`, `tag` (tag name). Sort on `created_at`, `updated_at` or `last_activity_at` (default `-created_at`).",
  request: { query: SessionListQuery },
  responses: { 200: jsonContent(listWithExample(Session, SESSION_EXAMPLE, "/v1/sessions"), "A page of sessions"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/sessions",
  operationId: "createSession",
  tags: ["Sessions"],
  summary: "Start a session",
  description:
    "`source` defaults to `web`. A `contact_id` that names no contact of the workspace answers 422 with `details.fields.contact_id`. Writes `session.created`.",
  request: { body: jsonBody(CreateSessionBody) },
  responses: { 201: jsonContent(Session, "The new session"), ...errorResponses(401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/sessions/{id}",
  operationId: "getSession",
  tags: ["Sessions"],
  summary: "Get a session",
  description: "The session with its tags.",
  request: { params: IdParam },
  responses: { 200: jsonContent(Session, "The session"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/sessions/{id}",
  operationId: "updateSession",
  tags: ["Sessions"],
  summary: "Update a session (link or unlink its contact)",
  description:
    "`contact_id` links the session to a contact, `null` unlinks it; an unknown contact answers 422 with `details.fields.contact_id`. `metadata` is merged key by key (a `null` value removes the key). Writes `session.updated`.",
  request: { params: IdParam, body: jsonBody(UpdateSessionBody) },
  responses: { 200: jsonContent(Session, "The updated session"), ...errorResponses(401, 403, 404) },
});

const identify = createRoute({
  method: "post",
  path: "/v1/sessions/{id}/identify",
  operationId: "identifySession",
  tags: ["Sessions"],
  summary: "Identify the visitor of a session",
  description:
    "Give an email or a phone (or both). Finds the workspace's contact by email, else by phone, else creates it, then links the session. A found contact gets its blank name, email and phone filled (never a value another contact holds) and `attributes` merged key by key. Safe under concurrency: the same email identified from many sessions at once yields one contact. Writes `contact.created` or `contact.updated`, and `session.updated` when the link changes.",
  request: { params: IdParam, body: jsonBody(IdentifyBody) },
  responses: { 200: jsonContent(IdentifyResult, "The linked session and its contact"), ...errorResponses(401, 403, 404, 409) },
});

export const sessionsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<SessionSort>(q.sort, SESSION_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listSessions(db, c.var.principal.workspaceId, q, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    return c.json(await createSession(c.var.services.db, c.var.principal, c.req.valid("json")), 201);
  })
  .openapi(get, async (c) => {
    return c.json(await getSession(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200);
  })
  .openapi(update, async (c) => {
    return c.json(await updateSession(c.var.services.db, c.var.principal, c.req.valid("param").id, c.req.valid("json")), 200);
  })
  .openapi(identify, async (c) => {
    return c.json(await identifySession(c.var.services.db, c.var.principal, c.req.valid("param").id, c.req.valid("json")), 200);
  });
