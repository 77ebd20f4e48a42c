// /v1/automations (admin): rules that act on events — CRUD, toggle and the run log. The rules
// run in jobs-automations (functions/jobs/automations.ts), one job per event.
import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "../../lib/auth";
import { AUTOMATION_EVENTS } from "../../lib/automations";
import { createRouter } from "../../lib/create-app";
import { MAX_AUTOMATION_DEPTH } from "../../lib/event-dispatch";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, paginationQuery } from "../../lib/pagination";
import { listWithExample } from "../tags/schemas";
import { AUTOMATION_EXAMPLE, Automation, AutomationIdParam, AutomationRun, AutomationWithSecret, CreateAutomationBody, RUN_EXAMPLE, RunsQuery, UpdateAutomationBody } from "./automations.schemas";
import { automationJson, createAutomation, deleteAutomation, findAutomation, listAutomations, listRuns, toggleAutomation, updateAutomation } from "./automations.service";

const TAGS = ["Automations"];
const DeletedAutomation = z.object({ deleted: z.literal(true), id: z.string() }).openapi("DeletedAutomation", { example: { deleted: true, id: AUTOMATION_EXAMPLE.id } });

const HOW = [
  `An automation listens to one event (${AUTOMATION_EVENTS.map((e) => `\`${e}\``).join(", ")}); when one happens in the workspace, every active automation listening to it is evaluated once, in the background (usually within a second; up to a minute when the job queue was unreachable).`,
  "If all its `conditions` hold, its `actions` run in order, in one transaction: if one fails, the run is `failed` with that action's error and none of the run's changes are kept (a webhook already sent stays sent); other automations are not affected.",
  "Each (automation, event) runs at most once, however often the job is delivered. Changes made by actions are recorded as events like anyone's (actor: the automation's id), one hop deeper than the event that caused them:",
  `events ${MAX_AUTOMATION_DEPTH} hops deep do not trigger automations any more (the loop guard), so two automations that trigger each other stop after ${MAX_AUTOMATION_DEPTH} rounds.`,
].join(" ");

const WEBHOOK_ACTION =
  "A `webhook` action makes one `POST` to its `url` with the body `{type, timestamp, data}` (the event's data, as a webhook endpoint receives it, plus `automation_id`) and the Standard Webhooks headers: `webhook-id` (`awh_<run>`, the same on every attempt), `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` keyed with the automation's `webhook_secret`, shown once in the create answer). The URL goes through the same SSRF guard as webhook endpoints (422 on `actions.N.url` at creation, checked again before the request). A non-2xx answer, a redirect, a timeout (10 s) or a refused target is retried with the whole event's job (QStash's retries: about 12 s, 2.5 min, 20 min); after the 4th attempt the run is `failed`. While retried, the event's other automations are redone with it (their changes are kept once), and their webhooks are sent again with the same `webhook-id`.";

const list = createRoute({
  method: "get",
  path: "/v1/automations",
  operationId: "listAutomations",
  tags: TAGS,
  summary: "List automations",
  middleware: [requireRole("admin")] as const,
  request: { query: paginationQuery },
  responses: { 200: jsonContent(listWithExample(Automation, AUTOMATION_EXAMPLE, "/v1/automations"), "A page of automations, newest first"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/automations",
  operationId: "createAutomation",
  tags: TAGS,
  summary: "Create an automation",
  description: `${HOW}\n\nChecked at creation (422, every problem listed by path): the event, each condition's field (it must exist in the event's data), operator and value type, each action's type and parameters, that \`assign\`'s agent and \`send_email\`'s template are this workspace's, that actions needing a conversation are not used on contact.created, and webhook URLs.\n\n${WEBHOOK_ACTION}`,
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(CreateAutomationBody) },
  responses: { 201: jsonContent(AutomationWithSecret, "The new automation, with its webhook signing secret (shown once)"), ...errorResponses(401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/automations/{id}",
  operationId: "getAutomation",
  tags: TAGS,
  summary: "Get an automation",
  middleware: [requireRole("admin")] as const,
  request: { params: AutomationIdParam },
  responses: { 200: jsonContent(Automation, "The automation"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/automations/{id}",
  operationId: "updateAutomation",
  tags: TAGS,
  summary: "Update an automation",
  description: "Change `name`, `event`, `conditions`, `actions` (both replaced as a whole) or `active`. The resulting rule is checked as at creation. Events already being handled use the rule as it was read then.",
  middleware: [requireRole("admin")] as const,
  request: { params: AutomationIdParam, body: jsonBody(UpdateAutomationBody) },
  responses: { 200: jsonContent(Automation, "The updated automation"), ...errorResponses(401, 403, 404) },
});

const toggle = createRoute({
  method: "post",
  path: "/v1/automations/{id}/toggle",
  operationId: "toggleAutomation",
  tags: TAGS,
  summary: "Turn an automation on or off",
  description: "Flips `active`. An inactive automation is not evaluated for new events.",
  middleware: [requireRole("admin")] as const,
  request: { params: AutomationIdParam },
  responses: { 200: jsonContent(Automation, "The automation after the flip"), ...errorResponses(401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/automations/{id}",
  operationId: "deleteAutomation",
  tags: TAGS,
  summary: "Delete an automation",
  description: "Deletes the automation and its run log.",
  middleware: [requireRole("admin")] as const,
  request: { params: AutomationIdParam },
  responses: { 200: jsonContent(DeletedAutomation, "Deleted"), ...errorResponses(401, 403, 404) },
});

const runs = createRoute({
  method: "get",
  path: "/v1/automations/{id}/runs",
  operationId: "listAutomationRuns",
  tags: TAGS,
  summary: "List an automation's runs",
  description:
    "The run log, newest first: one run per event the automation was evaluated for, with its status (`succeeded`, `failed`, `skipped`), why it was skipped (`reason`: the first condition that did not hold, with the value it saw), each action's outcome and duration, the error of a failed run, and its timing. Filter by `status`.",
  middleware: [requireRole("admin")] as const,
  request: { params: AutomationIdParam, query: paginationQuery.extend(RunsQuery.shape) },
  responses: { 200: jsonContent(listWithExample(AutomationRun, RUN_EXAMPLE, "/v1/automations/auto_01jd3k9v6q8f2m4x7c5b0n1p2r/runs"), "A page of runs"), ...errorResponses(401, 403, 404) },
});

export const automationsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db, config } = c.var.services;
    const { rows, total } = await listAutomations(db, c.var.principal.workspaceId, q);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const a = await createAutomation(c.var.services, c.var.principal.workspaceId, c.req.valid("json"));
    return c.json({ ...automationJson(a), webhook_secret: a.webhookSecret! }, 201);
  })
  .openapi(get, async (c) => c.json(automationJson(await findAutomation(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id)), 200))
  .openapi(update, async (c) => {
    const a = await updateAutomation(c.var.services, c.var.principal.workspaceId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(automationJson(a), 200);
  })
  .openapi(toggle, async (c) => c.json(automationJson(await toggleAutomation(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id)), 200))
  .openapi(remove, async (c) => {
    const id = c.req.valid("param").id;
    await deleteAutomation(c.var.services.db, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id }, 200);
  })
  .openapi(runs, async (c) => {
    const { page, per_page, status } = c.req.valid("query");
    const { db, config } = c.var.services;
    const { rows, total } = await listRuns(db, c.var.principal.workspaceId, c.req.valid("param").id, { page, per_page }, status);
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, rows, config.publicBaseUrl), 200);
  });
