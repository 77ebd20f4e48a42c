// The email function: emails sent through Mailgun, reminder templates and reminders.
import { createApp } from "../../lib/create-app";

export const app = createApp();
