// /v1/reminders: one message to one contact at send_at (or event_at + the template's offset),
// sent exactly once by a QStash delayed message, with a cron sweep as the safety net.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { listWithExample } from "../tags/schemas";
import { CreateReminderBody, IdParam, Reminder, REMINDER_EXAMPLE, REMINDER_SORTS, ReminderListQuery, UpdateReminderBody } from "./reminders.schemas";
import { cancelReminder, createReminder, getReminder, listReminders, updateReminder } from "./reminders.service";

const Params = IdParam("rem");
const TAGS = ["Reminders"];

const list = createRoute({
  method: "get",
  path: "/v1/reminders",
  operationId: "listReminders",
  tags: TAGS,
  summary: "List reminders",
  description: "Filters: `status`, `contact_id`, `template_id`. Sort by `created_at` or `send_at`.",
  request: { query: ReminderListQuery },
  responses: { 200: jsonContent(listWithExample(Reminder, REMINDER_EXAMPLE, "/v1/reminders"), "A page of reminders"), ...errorResponses(400, 401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/reminders",
  operationId: "createReminder",
  tags: TAGS,
  summary: "Schedule a reminder",
  description:
    "Give `send_at`, or `event_at` and the reminder goes out at `event_at + offset_minutes` of the template (at once if that time has already passed; `event_at` itself must be in the future). An explicit `send_at` up to 5 minutes in the past is sent at once; earlier is a 422. The template must be active and of this workspace, the contact must have an address for the template's channel (email, or phone/WhatsApp id), `channel_id` must be a channel of that type, and `variables` must give every `{{variables.x}}` the template uses: otherwise 422 naming the field. Each reminder is sent exactly once, by a QStash delayed message at `send_at` or, as a safety net, by the cron sweep; what is sent is recorded as an email (`email_id`, see GET /v1/emails/{id} for its events) or a WhatsApp message (`message_id`, `conversation_id`).",
  request: { body: jsonBody(CreateReminderBody) },
  responses: { 201: jsonContent(Reminder, "The scheduled reminder"), ...errorResponses(401, 403, 422) },
});

const get = createRoute({
  method: "get",
  path: "/v1/reminders/{id}",
  operationId: "getReminder",
  tags: TAGS,
  summary: "Get a reminder",
  request: { params: Params },
  responses: { 200: jsonContent(Reminder, "The reminder"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/reminders/{id}",
  operationId: "updateReminder",
  tags: TAGS,
  summary: "Reschedule a reminder",
  description:
    "A new `send_at` (or `event_at`, and so `send_at` from the template's offset) cancels the pending delayed message and schedules a new one; a message for the old time that still arrives does nothing. `variables` replaces the reminder's variables. Only while `scheduled`: 409 (`details.reason: \"invalid_state\"`) otherwise.",
  request: { params: Params, body: jsonBody(UpdateReminderBody) },
  responses: { 200: jsonContent(Reminder, "The rescheduled reminder"), ...errorResponses(401, 403, 404, 409, 422) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/reminders/{id}",
  operationId: "cancelReminder",
  tags: TAGS,
  summary: "Cancel a reminder",
  description: "Moves a scheduled reminder to `canceled` (it is kept, and never sent). Canceling a canceled reminder answers the same; once it is sending, sent or failed the answer is 409.",
  request: { params: Params },
  responses: { 200: jsonContent(Reminder, "The canceled reminder"), ...errorResponses(401, 403, 404, 409) },
});

export const remindersRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof REMINDER_SORTS)[number]>(q.sort, REMINDER_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listReminders(db, c.var.principal.workspaceId, q, sort, { status: q.status, contact_id: q.contact_id, template_id: q.template_id });
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => c.json(await createReminder(c.var.services, c.var.principal.workspaceId, c.req.valid("json")), 201))
  .openapi(get, async (c) => c.json(await getReminder(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200))
  .openapi(update, async (c) => c.json(await updateReminder(c.var.services, c.var.principal.workspaceId, c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(remove, async (c) => c.json(await cancelReminder(c.var.services, c.var.principal.workspaceId, c.req.valid("param").id), 200));
