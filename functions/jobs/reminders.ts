// The reminders job: sends one reminder (email or WhatsApp) when it is due.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const ReminderPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  reminder_id: z.string().min(1).max(100).openapi({ example: "rem_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type ReminderPayload = z.infer<typeof ReminderPayload>;

export const app = createJobApp(
  "reminders",
  ReminderPayload,
  // The sending is filled in by the reminders area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Send a reminder",
    description: "Sends one due reminder on its channel. Each reminder is sent once.",
  },
);
