// /v1/reminder-templates: what a reminder says (subject and body with variables), on which
// channel, and when relative to the event. Any agent may manage them.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { listWithExample } from "../tags/schemas";
import { CreateTemplateBody, IdParam, ReminderTemplate, TEMPLATE_EXAMPLE, TEMPLATE_SORTS, TemplateListQuery, UpdateTemplateBody } from "./reminders.schemas";
import { createTemplate, deleteTemplate, getTemplate, listTemplates, templateJson, updateTemplate } from "./reminders.service";
import { ALLOWED_VARIABLES } from "./reminder-render";

const Params = IdParam("rtpl");
const TAGS = ["Reminders"];

const VARIABLES_DOC = `\`subject\` and \`body\` take ${ALLOWED_VARIABLES}; any other variable, or a stray \`{{\`/\`}}\`, is a 422 naming the field. \`{{event_at}}\` is written in the workspace's time zone (settings.timezone), e.g. \`Saturday, December 5, 2026 at 2:00 PM (UTC)\`. A \`body\` with HTML tags is sent as HTML email with every value HTML-escaped (and a plain-text alternative); a plain body is sent as text.`;

const list = createRoute({
  method: "get",
  path: "/v1/reminder-templates",
  operationId: "listReminderTemplates",
  tags: TAGS,
  summary: "List reminder templates",
  request: { query: TemplateListQuery },
  responses: { 200: jsonContent(listWithExample(ReminderTemplate, TEMPLATE_EXAMPLE, "/v1/reminder-templates"), "A page of templates"), ...errorResponses(400, 401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/reminder-templates",
  operationId: "createReminderTemplate",
  tags: TAGS,
  summary: "Create a reminder template",
  description: `${VARIABLES_DOC} An email template needs a \`subject\`; \`whatsapp_template\` is only for WhatsApp.`,
  request: { body: jsonBody(CreateTemplateBody) },
  responses: { 201: jsonContent(ReminderTemplate, "The new template"), ...errorResponses(401, 403, 422) },
});

const get = createRoute({
  method: "get",
  path: "/v1/reminder-templates/{id}",
  operationId: "getReminderTemplate",
  tags: TAGS,
  summary: "Get a reminder template",
  request: { params: Params },
  responses: { 200: jsonContent(ReminderTemplate, "The template"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/reminder-templates/{id}",
  operationId: "updateReminderTemplate",
  tags: TAGS,
  summary: "Update a reminder template",
  description: `${VARIABLES_DOC} Reminders already scheduled use the template as it is when they are sent (a variable they do not give renders empty).`,
  request: { params: Params, body: jsonBody(UpdateTemplateBody) },
  responses: { 200: jsonContent(ReminderTemplate, "The updated template"), ...errorResponses(401, 403, 404, 422) },
});

const DeletedTemplate = z
  .object({ deleted: z.literal(true), id: z.string() })
  .openapi("DeletedReminderTemplate", { example: { deleted: true, id: "rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r" } });

const remove = createRoute({
  method: "delete",
  path: "/v1/reminder-templates/{id}",
  operationId: "deleteReminderTemplate",
  tags: TAGS,
  summary: "Delete a reminder template",
  description: "Deletes the template and the reminders it already sent, failed or canceled. While reminders of it are still scheduled the answer is 409 (`details.reason: \"template_in_use\"`): cancel them first, or set `active: false`.",
  request: { params: Params },
  responses: { 200: jsonContent(DeletedTemplate, "Deleted"), ...errorResponses(401, 403, 404, 409) },
});

export const reminderTemplatesRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof TEMPLATE_SORTS)[number]>(q.sort, TEMPLATE_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listTemplates(db, c.var.principal.workspaceId, q, sort, { channel: q.channel, active: q.active });
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const row = await createTemplate(c.var.services.db, c.var.principal.workspaceId, c.req.valid("json"));
    return c.json(templateJson(row), 201);
  })
  .openapi(get, async (c) => c.json(templateJson(await getTemplate(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id)), 200))
  .openapi(update, async (c) => {
    const row = await updateTemplate(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(templateJson(row), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await c.var.services.db.transaction((tx) => deleteTemplate(tx, c.var.principal.workspaceId, id));
    return c.json({ deleted: true as const, id }, 200);
  });
