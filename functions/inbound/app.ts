// The inbound function: provider webhooks (Mailgun routes and events, WhatsApp), each signature-verified.
// Its body limit fits a Mailgun route forward with attachments; the JSON webhooks keep the default.
import { bodyLimit } from "hono/body-limit";
import { createApp, DEFAULT_BODY_LIMIT } from "../../lib/create-app";
import { ApiError } from "../../lib/errors";
import { mailgunEventsRouter } from "./mailgun-events";
import { MAILGUN_FORWARD_LIMIT, mailgunMessagesRouter } from "./mailgun-messages";
import { whatsappRouter } from "./whatsapp";

const jsonWebhookLimit = bodyLimit({
  maxSize: DEFAULT_BODY_LIMIT,
  onError: () => {
    throw new ApiError("payload_too_large", `The request body is larger than ${DEFAULT_BODY_LIMIT} bytes.`);
  },
});

export const app = createApp({ bodyLimit: MAILGUN_FORWARD_LIMIT });
app.use("/inbound/whatsapp", jsonWebhookLimit);
app.use("/inbound/mailgun/events", jsonWebhookLimit);
app.route("/", whatsappRouter).route("/", mailgunMessagesRouter).route("/", mailgunEventsRouter);
