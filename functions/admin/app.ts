// The admin function: channels, automations and outbound webhooks (admin only).
import { createApp } from "../../lib/create-app";

export const app = createApp();
