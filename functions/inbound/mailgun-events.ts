// POST /inbound/mailgun/events: Mailgun's event webhook (`{signature: {timestamp, token, signature},
// "event-data": {…}}`) for the emails Parley sent. The email is found by the custom variables the
// sender attached (parley_email_id within parley_workspace_id), else by Mailgun's message id; the
// signature must verify with that email's channel key (or the platform's), so one workspace's
// Mailgun account can never move another workspace's emails.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { parseMailgunSignature } from "../../lib/mailgun-signature";
import { jsonContent } from "../../lib/openapi";
import { EMAIL_EVENT_TYPES, EMAIL_STATUSES } from "../../schema/channels";
import { applyEvent, candidateEmails, correlationOf, parseEvent } from "./mailgun-events.service";
import { requireSignature, signatureError } from "./mailgun-verify";

const TAGS = ["Inbound webhooks"];

const EventBody = z
  .object({
    signature: z.object({
      timestamp: z.string().openapi({ example: "1764936000" }),
      token: z.string().openapi({ example: "651869375b9df3c98fc15c4889b102119add1235c38fc92824" }),
      signature: z.string().openapi({ example: "9d1f3c0b7a4e2d8c6b1f0a9e3d7c5b2a8f4e1d0c9b6a3f7e2d5c8b1a4f0e3d6c" }),
    }),
    "event-data": z.record(z.string(), z.unknown()).openapi({ description: "Mailgun's event: `id`, `event`, `severity` (failed), `timestamp`, `recipient`, `message.headers[\"message-id\"]`, `user-variables`, `delivery-status`, …" }),
  })
  .openapi("MailgunEventWebhook", {
    example: {
      signature: { timestamp: "1764936000", token: "651869375b9df3c98fc15c4889b102119add1235c38fc92824", signature: "9d1f3c0b7a4e2d8c6b1f0a9e3d7c5b2a8f4e1d0c9b6a3f7e2d5c8b1a4f0e3d6c" },
      "event-data": {
        id: "hTWCTD81RtiDN-hLoFCbeg",
        event: "delivered",
        timestamp: 1764935999.153125,
        recipient: "bob@customer.example",
        "user-variables": { parley_workspace_id: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r", parley_email_id: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r", parley_message_id: "msg_01jd3k9v6q8f2m4x7c5b0n1p2r" },
        message: { headers: { "message-id": "20261205120000.1.DF5966851B4BAA99@mg.acme.example", to: "bob@customer.example", from: "support@mg.acme.example", subject: "Re: Order 1042" } },
        "delivery-status": { code: 250, message: "OK", "attempt-no": 1, tls: true },
      },
    },
  });

const Ack = z
  .object({
    received: z.literal(true),
    matched: z.boolean().openapi({ description: "False when no email of Parley's is this event's (logged; 200 so Mailgun stops retrying) or the event type is not one Parley records." }),
    duplicate: z.boolean().openapi({ description: "This Mailgun event id was already recorded: nothing changed." }),
    email_id: z.string().nullable().openapi({ example: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    event: z.enum(EMAIL_EVENT_TYPES).nullable(),
    status: z.enum(EMAIL_STATUSES).nullable().openapi({ description: "The email's status after this event." }),
  })
  .openapi("MailgunEventAck", { example: { received: true, matched: true, duplicate: false, email_id: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r", event: "delivered", status: "delivered" } });

const receive = createRoute({
  method: "post",
  path: "/inbound/mailgun/events",
  operationId: "receiveMailgunEvents",
  tags: TAGS,
  summary: "Mailgun event webhook (email statuses)",
  description: [
    "Called by Mailgun for the events of emails Parley sent (accepted, delivered, opened, clicked, failed, complained, unsubscribed).",
    "`signature.signature` must be the hex HMAC-SHA256 of `signature.timestamp + signature.token` with the signing key of the Mailgun account that sent the email: the channel's `webhook_signing_key` when the channel has its own account (`mailgun_domain` + `mailgun_api_key`), else `MAILGUN_WEBHOOK_SIGNING_KEY` (or the channel's `webhook_signing_key` when set);",
    "the timestamp must be within 5 minutes of now and each token is accepted once; otherwise 401 (`details.reason`) and nothing changes.",
    "The email is the one named by the custom variables `parley_email_id` (within `parley_workspace_id`), else the one with the event's `message.headers[\"message-id\"]` as its Mailgun id.",
    "Each `event-data.id` is recorded once (a redelivery answers 200 with `duplicate: true`). The email's status only moves forward: queued → sent (accepted) → delivered → opened → clicked;",
    "a permanent failure (`severity` permanent) sets `failed` with `error: {code, message}`, and failed, unsubscribed and complained are terminal. A temporary failure is recorded in the email's events but changes no status (Mailgun retries).",
    "The conversation message the email carries follows: accepted → sent, delivered → delivered, opened/clicked → read, a permanent failure → failed with `delivery_error`.",
    "An event for no email Parley knows is logged and answered 200, so Mailgun stops retrying. Malformed JSON is 400; a signed body without an `event-data` object is 422.",
  ].join(" "),
  security: [],
  request: { body: { content: { "application/json": { schema: EventBody } }, required: true } },
  responses: { 200: jsonContent(Ack, "Received"), ...errorResponses(401, 413) },
});

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export const mailgunEventsRouter = createRouter();

mailgunEventsRouter.post("/inbound/mailgun/events", async (c) => {
  const { db, kv, config } = c.var.services;
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await c.req.arrayBuffer()));
  } catch {
    throw new ApiError("bad_request", "Malformed JSON in request body.");
  }
  const block = isObj(payload) && isObj(payload.signature) ? payload.signature : {};
  const sig = parseMailgunSignature(block.timestamp, block.token, block.signature);
  if (!sig) throw signatureError("missing_signature");
  const eventData = isObj(payload) ? payload["event-data"] : undefined;

  // The email decides the keys: those of the Mailgun account that sent it. Without a known email,
  // only the platform's key is accepted.
  const candidates = await candidateEmails(db, correlationOf(eventData), config.mailgunWebhookSigningKey);
  const tries = candidates.length
    ? candidates.flatMap((cand) => cand.keys.map((key) => ({ email: cand.email, key })))
    : [{ email: undefined, key: config.mailgunWebhookSigningKey }];
  const signed = await requireSignature(kv, sig, tries.map((t) => t.key));
  const email = tries[signed]!.email;

  if (!isObj(eventData)) {
    throw new ApiError("validation_error", "The body has no event-data object.", { details: { fields: { "event-data": ["Required: an object."] } } });
  }
  const ev = await parseEvent(eventData);
  if (!ev || !email) {
    console.warn(
      JSON.stringify({
        msg: ev ? "mailgun event for an unknown email" : "mailgun event not recorded",
        request_id: c.var.requestId,
        event: typeof eventData.event === "string" ? eventData.event.slice(0, 50) : null,
        event_id: typeof eventData.id === "string" ? eventData.id.slice(0, 200) : null,
      }),
    );
    return c.json({ received: true as const, matched: false, duplicate: false, email_id: null, event: ev?.type ?? null, status: null }, 200);
  }
  const r = await applyEvent(db, email, ev);
  return c.json({ received: true as const, matched: true, duplicate: r.duplicate, email_id: email.id, event: ev.type, status: r.status }, 200);
});

mailgunEventsRouter.openAPIRegistry.registerPath(receive);
