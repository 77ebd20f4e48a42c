// The admin function: channels, automations and outbound webhooks (admin only).
import { createApp } from "../../lib/create-app";
import { automationsRouter } from "./automations";
import { channelsRouter } from "./channels";
import { webhooksRouter } from "./webhooks";

export const app = createApp().route("/", channelsRouter).route("/", automationsRouter).route("/", webhooksRouter);
