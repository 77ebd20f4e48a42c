// /inbound/whatsapp: Meta's webhook for the WhatsApp Cloud API. GET is the subscription
// handshake (hub.verify_token → hub.challenge); POST carries messages and statuses, verified by
// X-Hub-Signature-256 over the raw body with the channel's app secret (or the platform's).
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { jsonContent } from "../../lib/openapi";
import { parseSignature, verifyWebhook } from "../../lib/whatsapp";
import {
  applyStatus,
  type ChannelRow,
  changesOf,
  channelSecret,
  isChannelVerifyToken,
  parseStatus,
  rememberEarlyStatus,
  storeInbound,
  whatsappChannels,
} from "./whatsapp.service";

const TAGS = ["Inbound webhooks"];

const VerifyQuery = z.object({
  "hub.mode": z.string().max(100).optional().openapi({ example: "subscribe" }),
  "hub.verify_token": z.string().max(500).optional().openapi({ example: "my-verify-token" }),
  "hub.challenge": z.string().max(500).optional().openapi({ example: "1158201444" }),
});

const verify = createRoute({
  method: "get",
  path: "/inbound/whatsapp",
  operationId: "verifyWhatsappWebhook",
  tags: TAGS,
  summary: "WhatsApp webhook verification",
  description:
    "Meta's subscription handshake, sent when the webhook URL is saved in the Meta app dashboard. With `hub.mode=subscribe` and a `hub.verify_token` equal to `WHATSAPP_VERIFY_TOKEN` (the platform app) or to a WhatsApp channel's `verify_token` (a self-managed app), the answer is `hub.challenge` as text/plain; anything else is 403.",
  security: [],
  request: { query: VerifyQuery },
  responses: {
    200: { description: "The challenge, echoed", content: { "text/plain": { schema: z.string().openapi({ example: "1158201444" }) } } },
    ...errorResponses(403),
  },
});

const Ack = z
  .object({
    received: z.literal(true),
    messages: z.number().int().openapi({ description: "Customer messages stored now." }),
    duplicates: z.number().int().openapi({ description: "Messages already stored (a redelivery): not stored again." }),
    statuses: z.number().int().openapi({ description: "Outbound messages whose delivery status moved." }),
    ignored: z
      .number()
      .int()
      .openapi({ description: "Changes for a phone_number_id no channel has (or whose channel's app secret did not sign this request), and statuses that moved nothing: acknowledged so Meta does not retry, nothing stored." }),
  })
  .openapi("WhatsAppWebhookAck", { example: { received: true, messages: 1, duplicates: 0, statuses: 0, ignored: 0 } });

const WebhookBody = z
  .object({
    object: z.literal("whatsapp_business_account"),
    entry: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi("WhatsAppWebhook", {
    example: {
      object: "whatsapp_business_account",
      entry: [
        {
          id: "102290129340398",
          changes: [
            {
              value: {
                messaging_product: "whatsapp",
                metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
                contacts: [{ profile: { name: "Sheena Nelson" }, wa_id: "16505551234" }],
                messages: [
                  {
                    from: "16505551234",
                    id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                    timestamp: "1749416383",
                    type: "text",
                    text: { body: "Does it come in another color?" },
                  },
                ],
              },
              field: "messages",
            },
          ],
        },
      ],
    },
  });

const receive = createRoute({
  method: "post",
  path: "/inbound/whatsapp",
  operationId: "receiveWhatsappWebhook",
  tags: TAGS,
  summary: "WhatsApp webhook (messages and statuses)",
  description: [
    "Called by Meta. `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` must verify with the app secret of the channel each change is for",
    "(its `app_secret`, or `WHATSAPP_APP_SECRET` for channels on the platform app); a missing, malformed or wrong signature is 401 and nothing is stored.",
    "`entry[].changes[].value.metadata.phone_number_id` picks the channel. Messages (text, image, document, audio, video, sticker, location,",
    "interactive button and list replies, template quick-reply buttons, reactions, contacts) are stored in the contact's conversation on that",
    "channel: the contact is found by phone (`+<wa_id>`) or created with the WhatsApp profile name; the latest conversation that is not closed",
    "takes the message (a resolved or snoozed one reopens), else a new one starts (source `whatsapp`). Media is kept as its Graph media id,",
    "mime type and caption in the message's `metadata.whatsapp.media`. Each wamid is stored once: a redelivery answers 200 and counts as a duplicate.",
    "Statuses (sent, delivered, read, failed with Meta's errors) move the outbound message with that wamid forward, never back (read stays read).",
    "A phone_number_id that no channel has is acknowledged with 200 (Meta would otherwise retry for days) and nothing is stored.",
  ].join(" "),
  security: [],
  request: {
    headers: z.object({ "x-hub-signature-256": z.string().optional().openapi({ example: "sha256=6b2ed3f5c0a1…" }) }),
    body: { content: { "application/json": { schema: WebhookBody } }, required: true },
  },
  responses: { 200: jsonContent(Ack, "Received"), ...errorResponses(401) },
});

/** Compares two strings without an early exit (verify tokens). */
function sameString(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

const unauthorized = () => new ApiError("unauthorized", "Invalid or missing X-Hub-Signature-256: the body must be signed with the Meta app's secret.");

export const whatsappRouter = createRouter();

whatsappRouter
  .openapi(verify, async (c) => {
    const q = c.req.valid("query");
    const token = q["hub.verify_token"];
    const challenge = q["hub.challenge"];
    const { db, config } = c.var.services;
    const platform = config.whatsapp.verifyToken;
    const ok =
      q["hub.mode"] === "subscribe" &&
      challenge !== undefined &&
      token !== undefined &&
      token.length > 0 &&
      ((platform !== undefined && sameString(token, platform)) || (await isChannelVerifyToken(db, token)));
    if (!ok) throw new ApiError("forbidden", "Webhook verification failed: hub.mode must be subscribe and hub.verify_token must match.");
    return c.text(challenge, 200, { "content-type": "text/plain; charset=utf-8" });
  })
  // The body is read raw (the signature covers its exact bytes), so this handler does not use
  // the route's JSON validation; the route documents the shape.
  .post("/inbound/whatsapp", async (c) => {
    const { db, kv, config } = c.var.services;
    const signature = parseSignature(c.req.header("x-hub-signature-256"));
    if (!signature) throw unauthorized();
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const platformSecret = config.whatsapp.appSecret;
    const platformOk = platformSecret ? await verifyWebhook(raw, signature, platformSecret) : false;

    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
    } catch {
      // Only a correctly signed body earns a 400; anyone else learns nothing beyond 401.
      if (platformOk) throw new ApiError("bad_request", "Malformed JSON in request body.");
      throw unauthorized();
    }
    const changes = changesOf(payload);
    if (!changes) {
      if (platformOk) throw new ApiError("bad_request", "Not a WhatsApp Business Account webhook (object must be whatsapp_business_account).");
      throw unauthorized();
    }

    // Which channels this request may speak for: a channel with its own app secret only when that
    // secret signed it; a channel on the platform app when the platform secret did.
    const found = await whatsappChannels(db, [...new Set(changes.map((ch) => ch.phoneNumberId))]);
    const trusted = new Map<string, ChannelRow>();
    for (const ch of found) {
      const own = channelSecret(ch, "app_secret");
      if (own ? await verifyWebhook(raw, signature, own) : platformOk) trusted.set(ch.inboundKey!, ch);
    }
    if (!platformOk && trusted.size === 0) throw unauthorized();

    const result = { received: true as const, messages: 0, duplicates: 0, statuses: 0, ignored: 0 };
    for (const change of changes) {
      const ch = trusted.get(change.phoneNumberId);
      if (!ch) {
        result.ignored++;
        continue;
      }
      const profiles = new Map<string, string>();
      for (const ct of Array.isArray(change.value.contacts) ? change.value.contacts : []) {
        const waId = ct?.wa_id;
        const name = ct?.profile?.name;
        if (typeof waId === "string" && typeof name === "string" && name) profiles.set(waId.replace(/[^0-9]/g, ""), name.slice(0, 200));
      }
      for (const m of Array.isArray(change.value.messages) ? change.value.messages : []) {
        const r = await storeInbound(db, ch, m, profiles);
        if (!r) result.ignored++;
        else if (r.stored) result.messages++;
        else result.duplicates++;
      }
      for (const s of Array.isArray(change.value.statuses) ? change.value.statuses : []) {
        const u = parseStatus(s);
        if (!u) {
          result.ignored++;
          continue;
        }
        if (await applyStatus(db, ch.workspaceId, u)) result.statuses++;
        else {
          // Unknown wamid (the job may not have recorded it yet) or an out-of-order status.
          await rememberEarlyStatus(kv, ch.workspaceId, u);
          result.ignored++;
        }
      }
    }
    return c.json(result, 200);
  });

// The POST is registered above as a plain route (raw body); its contract goes in the document here.
whatsappRouter.openAPIRegistry.registerPath(receive);
