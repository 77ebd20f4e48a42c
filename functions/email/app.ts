// The email function: emails sent through Mailgun, reminder templates and reminders.
import { createApp } from "../../lib/create-app";
import { emailsRouter } from "./emails";
import { reminderTemplatesRouter } from "./reminder-templates";
import { remindersRouter } from "./reminders";

export const app = createApp().route("/", emailsRouter).route("/", reminderTemplatesRouter).route("/", remindersRouter);
