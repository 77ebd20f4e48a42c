// /v1/webhooks (admin): outbound webhook endpoints — CRUD, secret rotation, the delivery log,
// redelivery and a test ping. Deliveries themselves are made by jobs-webhooks (lib/webhooks.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, paginationQuery } from "../../lib/pagination";
import { DISABLE_AFTER_FAILURES, DISABLE_AFTER_HOURS, MAX_ATTEMPTS, RETRY_DELAYS, ROTATION_OVERLAP_HOURS } from "../../lib/webhooks";
import { listWithExample } from "../tags/schemas";
import {
  CreateWebhookBody,
  DELIVERY_EXAMPLE,
  DeliveryParams,
  DeliveryQuery,
  RotatedSecret,
  UpdateWebhookBody,
  WEBHOOK_EXAMPLE,
  Webhook,
  WebhookDelivery,
  WebhookIdParam,
  WebhookWithSecret,
} from "./webhooks.schemas";
import { createWebhook, deleteWebhook, deliveryJson, findWebhook, listDeliveries, listWebhooks, redeliver, rotateSecret, sendTest, updateWebhook, webhookJson } from "./webhooks.service";

const TAGS = ["Webhooks"];
const DeletedWebhook = z.object({ deleted: z.literal(true), id: z.string() }).openapi("DeletedWebhook", { example: { deleted: true, id: WEBHOOK_EXAMPLE.id } });

const SIGNING = `Deliveries follow Standard Webhooks: \`POST\` of \`{type, timestamp, data}\` with headers \`webhook-id\` (the delivery's id, the same on every attempt), \`webhook-timestamp\` (Unix seconds) and \`webhook-signature\` (\`v1,<base64 HMAC-SHA256 of "id.timestamp.body">\` keyed with the base64-decoded part of the secret after \`whsec_\`); any Standard Webhooks library verifies them. A non-2xx answer, a redirect (never followed), a timeout (10 s) or a refused target fails the attempt; it is retried after ${RETRY_DELAYS.map((s) => (s < 60 ? `${s} s` : s < 3600 ? `${s / 60} min` : `${s / 3600} h`)).join(", ")} (${MAX_ATTEMPTS} attempts). An endpoint whose last ${DISABLE_AFTER_FAILURES} attempts all failed, over at least ${DISABLE_AFTER_HOURS} hours, is disabled (\`status: disabled\`); PATCH \`active: true\` turns it back on.`;
const TARGETS =
  "The URL must be https and must not name or resolve to a private, loopback, link-local, shared or metadata address (IPv4 in any notation and IPv4 inside IPv6 included): otherwise 422 on `url`. A server run with `WEBHOOKS_ALLOW_PRIVATE_TARGETS=true` (the local server's default) allows any http(s) target.";

const list = createRoute({
  method: "get",
  path: "/v1/webhooks",
  operationId: "listWebhooks",
  tags: TAGS,
  summary: "List webhook endpoints",
  middleware: [requireRole("admin")] as const,
  request: { query: paginationQuery },
  responses: { 200: jsonContent(listWithExample(Webhook, WEBHOOK_EXAMPLE, "/v1/webhooks"), "A page of endpoints, newest first"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/webhooks",
  operationId: "createWebhook",
  tags: TAGS,
  summary: "Create a webhook endpoint",
  description: `The answer shows the signing \`secret\` (\`whsec_…\`) once; it is never shown again (rotate it to get a new one). ${TARGETS}\n\n${SIGNING}`,
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(CreateWebhookBody) },
  responses: { 201: jsonContent(WebhookWithSecret, "The new endpoint, with its secret"), ...errorResponses(401, 403) },
});

const get = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}",
  operationId: "getWebhook",
  tags: TAGS,
  summary: "Get a webhook endpoint",
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam },
  responses: { 200: jsonContent(Webhook, "The endpoint (without its secret)"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  operationId: "updateWebhook",
  tags: TAGS,
  summary: "Update a webhook endpoint",
  description: `Change \`url\`, \`events\`, \`description\` (null clears it) or \`active\`. Turning an endpoint on resets its failure streak. ${TARGETS}`,
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam, body: jsonBody(UpdateWebhookBody) },
  responses: { 200: jsonContent(Webhook, "The updated endpoint"), ...errorResponses(401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  operationId: "deleteWebhook",
  tags: TAGS,
  summary: "Delete a webhook endpoint",
  description: "Deletes the endpoint and its delivery log; pending retries stop.",
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam },
  responses: { 200: jsonContent(DeletedWebhook, "Deleted"), ...errorResponses(401, 403, 404) },
});

const rotate = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  tags: TAGS,
  summary: "Rotate the signing secret",
  description: `Issues a new secret (shown once, here). For ${ROTATION_OVERLAP_HOURS} hours deliveries carry two signatures in \`webhook-signature\`, one per secret, so receivers can switch without losing messages.`,
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam },
  responses: { 200: jsonContent(RotatedSecret, "The new secret"), ...errorResponses(401, 403, 404) },
});

const deliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags: TAGS,
  summary: "List an endpoint's deliveries",
  description: "The delivery log, newest first: each message with its status, attempts (status code, latency, error; the last 20 kept), the last answer's first 1 KiB and the body sent. Filter by `status`.",
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam, query: paginationQuery.extend(DeliveryQuery.shape) },
  responses: { 200: jsonContent(listWithExample(WebhookDelivery, DELIVERY_EXAMPLE, "/v1/webhooks/wh_01jd3k9v6q8f2m4x7c5b0n1p2r/deliveries"), "A page of deliveries"), ...errorResponses(401, 403, 404) },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
  operationId: "redeliverWebhookDelivery",
  tags: TAGS,
  summary: "Redeliver a delivery",
  description:
    "Attempts the delivery again now, with the same `webhook-id` and body (and a fresh timestamp and signature), and answers with the outcome. A manual attempt is not retried automatically; it counts toward the endpoint's failure streak. 409 when the endpoint is not active.",
  middleware: [requireRole("admin")] as const,
  request: { params: DeliveryParams },
  responses: { 200: jsonContent(WebhookDelivery, "The delivery after this attempt"), ...errorResponses(401, 403, 404, 409) },
});

const test = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/test",
  operationId: "testWebhook",
  tags: TAGS,
  summary: "Send a test event",
  description:
    "Sends a `webhook.test` message (`{type: \"webhook.test\", timestamp, data: {webhook_id, message}}`), signed like any delivery, now, and answers with the outcome (also in the delivery log). Works on an inactive endpoint; not retried; does not count toward the disable rule.",
  middleware: [requireRole("admin")] as const,
  request: { params: WebhookIdParam },
  responses: {
    200: jsonContent(WebhookDelivery.openapi({ example: { ...DELIVERY_EXAMPLE, event_id: null, event_type: "webhook.test" } }), "The test delivery and its outcome"),
    ...errorResponses(401, 403, 404),
  },
});

export const webhooksRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const { db, config } = c.var.services;
    const { rows, total } = await listWebhooks(db, c.var.principal.workspaceId, q);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const w = await createWebhook(c.var.services, c.var.principal.workspaceId, c.req.valid("json"));
    return c.json({ ...webhookJson(w), secret: w.secret }, 201);
  })
  .openapi(get, async (c) => c.json(webhookJson(await findWebhook(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id)), 200))
  .openapi(update, async (c) => {
    const w = await updateWebhook(c.var.services, c.var.principal.workspaceId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(webhookJson(w), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deleteWebhook(c.var.services.db, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id }, 200);
  })
  .openapi(rotate, async (c) => c.json(await rotateSecret(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200))
  .openapi(deliveries, async (c) => {
    const q = c.req.valid("query");
    const { db, config } = c.var.services;
    const { rows, total } = await listDeliveries(db, c.var.principal.workspaceId, c.req.valid("param").id, q, q.status);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(redeliverRoute, async (c) => {
    const { id, delivery_id } = c.req.valid("param");
    return c.json(deliveryJson(await redeliver(c.var.services, c.var.principal.workspaceId, id, delivery_id)), 200);
  })
  .openapi(test, async (c) => c.json(deliveryJson(await sendTest(c.var.services, c.var.principal.workspaceId, c.req.valid("param").id)), 200));
