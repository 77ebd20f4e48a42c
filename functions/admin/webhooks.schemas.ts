// Request and response schemas of /v1/webhooks (outbound webhook endpoints and their deliveries).
import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../lib/events";
import { Timestamp } from "../../lib/openapi";
import { safeParam, storableText } from "../../lib/safe-text";

const WH = "wh_01jd3k9v6q8f2m4x7c5b0n1p2r";
const WHD = "whd_01jd3k9v6q8f2m4x7c5b0n1p2r";

export const WebhookUrl = z.string().trim().min(1).max(2000, "Must be at most 2000 characters.").openapi({ example: "https://hooks.acme.example/parley" });
export const WebhookEvents = z
  .array(z.enum(EVENT_TYPES))
  .min(1, "Give at least one event type.")
  .max(EVENT_TYPES.length)
  .refine((a) => new Set(a).size === a.length, "Must not repeat an event type.")
  .openapi({ example: ["conversation.created", "message.created"], description: `Event types to receive: ${EVENT_TYPES.join(", ")}.` });
const Description = z.string().trim().max(500, "Must be at most 500 characters.").refine(storableText, "Contains characters that cannot be stored.");

export const WEBHOOK_EXAMPLE = {
  id: WH,
  url: "https://hooks.acme.example/parley",
  description: "CRM sync",
  events: ["conversation.created", "message.created"],
  active: true,
  status: "active",
  disabled_reason: null,
  disabled_at: null,
  failure_count: 0,
  last_success_at: "2026-11-24T12:05:00.000Z",
  last_failure_at: null,
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:00:00.000Z",
};

export const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.string()),
    active: z.boolean(),
    status: z.enum(["active", "inactive", "disabled"]).openapi({ description: "`disabled`: switched off by Parley after sustained failure (`disabled_reason: failing`); PATCH `active: true` turns it back on." }),
    disabled_reason: z.string().nullable(),
    disabled_at: Timestamp.nullable(),
    failure_count: z.number().int().openapi({ description: "Failed attempts in a row since the last success." }),
    last_success_at: Timestamp.nullable(),
    last_failure_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Webhook", { example: WEBHOOK_EXAMPLE });

const SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3PAbBKwx8sk=";

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().openapi({ description: "The signing secret, shown only here: keep it.", example: SECRET_EXAMPLE }),
}).openapi("WebhookWithSecret", { example: { ...WEBHOOK_EXAMPLE, secret: SECRET_EXAMPLE } });

export const CreateWebhookBody = z
  .object({ url: WebhookUrl, events: WebhookEvents, description: Description.nullish(), active: z.boolean().optional() })
  .openapi("CreateWebhook", { example: { url: "https://hooks.acme.example/parley", events: ["conversation.created", "message.created"], description: "CRM sync" } });

export const UpdateWebhookBody = z
  .object({ url: WebhookUrl.optional(), events: WebhookEvents.optional(), description: Description.nullish(), active: z.boolean().optional() })
  .openapi("UpdateWebhook", { example: { events: ["conversation.status_changed"], active: true } });

export const RotatedSecret = z
  .object({ id: z.string(), secret: z.string(), previous_secret_expires_at: Timestamp })
  .openapi("RotatedWebhookSecret", { example: { id: WH, secret: SECRET_EXAMPLE, previous_secret_expires_at: "2026-11-25T12:00:00.000Z" } });

const ATTEMPT_EXAMPLE = { attempt: 1, at: "2026-11-24T12:05:00.000Z", status_code: 200, latency_ms: 84, error: null };
export const DELIVERY_EXAMPLE = {
  id: WHD,
  webhook_id: WH,
  event_id: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r",
  event_type: "conversation.created",
  status: "succeeded",
  attempt_count: 1,
  response_status: 200,
  response_body: "ok",
  latency_ms: 84,
  error: null,
  attempts: [ATTEMPT_EXAMPLE],
  next_attempt_at: null,
  last_attempt_at: "2026-11-24T12:05:00.000Z",
  payload: { type: "conversation.created", timestamp: "2026-11-24T12:04:59.000Z", data: { event_id: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r", conversation: { id: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r", title: "Refund" } } },
  created_at: "2026-11-24T12:05:00.000Z",
};

export const WebhookDelivery = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` header the receiver saw (the same on every attempt)." }),
    webhook_id: z.string(),
    event_id: z.string().nullable(),
    event_type: z.string(),
    status: z.enum(["pending", "succeeded", "retrying", "failed"]),
    attempt_count: z.number().int(),
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable().openapi({ description: "The first 1 KiB of the last answer." }),
    latency_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    attempts: z.array(
      z.object({ attempt: z.number().int(), at: Timestamp, status_code: z.number().int().nullable(), latency_ms: z.number().int().nullable(), error: z.string().nullable(), manual: z.boolean().optional() }),
    ),
    next_attempt_at: Timestamp.nullable(),
    last_attempt_at: Timestamp.nullable(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "The body sent: `{type, timestamp, data}`." }),
    created_at: Timestamp,
  })
  .openapi("WebhookDelivery", { example: DELIVERY_EXAMPLE });

export const WebhookIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: WH }),
});
export const DeliveryParams = WebhookIdParam.extend({
  delivery_id: safeParam(200).min(1).openapi({ param: { name: "delivery_id", in: "path" }, example: WHD }),
});

export const DeliveryQuery = z.object({
  status: z.enum(["pending", "succeeded", "retrying", "failed"]).optional().openapi({ example: "failed" }),
});
