// The inbound function: provider webhooks (Mailgun routes and events, WhatsApp), each signature-verified.
import { createApp } from "../../lib/create-app";
import { whatsappRouter } from "./whatsapp";

export const app = createApp().route("/", whatsappRouter);
