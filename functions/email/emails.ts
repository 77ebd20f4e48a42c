// /v1/emails: send an email through Mailgun (queued, sent by the deliveries job after the
// commit), list them, and read one with its events.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { listWithExample } from "../tags/schemas";
import { EMAIL_EXAMPLE, EMAIL_SORTS, Email, EmailListQuery, EmailWithEvents, SendEmailBody } from "./emails.schemas";
import { emailJson, getEmail, listEmails, sendEmail } from "./emails.service";
import { IdParam } from "./reminders.schemas";

const TAGS = ["Emails"];

const create = createRoute({
  method: "post",
  path: "/v1/emails",
  operationId: "sendEmail",
  tags: TAGS,
  summary: "Send an email",
  description:
    "Queues the email and answers 202 at once; the deliveries job sends it through Mailgun right after (the channel's own Mailgun account when it has `mailgun_domain`/`mailgun_api_key`, else Parley's), with Mailgun's custom variables `parley_workspace_id` and `parley_email_id` so its events find it. A Mailgun outage never loses it: it stays `queued` and is retried (QStash, then the every-minute sweep). `status` then follows: `sent` when Mailgun accepted it (`provider_message_id`), then Mailgun's events (`delivered`, `opened`, `clicked`, `failed`, …). Give `subject` and `text` and/or `html`, or `template_id` (an email reminder template) with its `variables`. `contact_id`, `conversation_id`, `channel_id` and `template_id` must be of this workspace (422 naming each field otherwise); without `channel_id` the conversation's email channel, else the workspace's oldest active email channel, sends it (none: 422 on `channel_id`).",
  request: { body: jsonBody(SendEmailBody) },
  responses: { 202: jsonContent(Email, "The queued email"), ...errorResponses(401, 403, 422) },
});

const list = createRoute({
  method: "get",
  path: "/v1/emails",
  operationId: "listEmails",
  tags: TAGS,
  summary: "List emails",
  description: "Newest first. Filters: `status`, `contact_id`, `to` (any recipient). Includes agent replies on email conversations and reminder emails.",
  request: { query: EmailListQuery },
  responses: { 200: jsonContent(listWithExample(Email, EMAIL_EXAMPLE, "/v1/emails"), "A page of emails"), ...errorResponses(400, 401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/emails/{id}",
  operationId: "getEmail",
  tags: TAGS,
  summary: "Get an email and its events",
  request: { params: IdParam("eml") },
  responses: { 200: jsonContent(EmailWithEvents, "The email with its events, oldest first"), ...errorResponses(401, 403, 404) },
});

export const emailsRouter = createRouter()
  .openapi(create, async (c) => c.json(emailJson(await sendEmail(c.var.services, c.var.principal.workspaceId, c.req.valid("json"))), 202))
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<(typeof EMAIL_SORTS)[number]>(q.sort, EMAIL_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listEmails(db, c.var.principal.workspaceId, q, sort, { status: q.status, contact_id: q.contact_id, to: q.to });
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(get, async (c) => c.json(await getEmail(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200));
