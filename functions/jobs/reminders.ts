// The reminders job: a reminder's delayed message (sends that one reminder, if it is still
// scheduled for that time) and the cron sweep (sends every reminder overdue by more than the
// grace period: the safety net for a message lost or never published). Both claim rows with a
// conditional UPDATE, so a reminder is sent once whoever gets there first.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";
import { sendScheduled, sweepDue } from "../email/reminders.service";

export const ReminderPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  reminder_id: z.string().min(1).max(100).openapi({ example: "rem_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  send_at: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ example: "2026-12-04T14:00:00.000Z", description: "The send_at this message was published for; a rescheduled reminder's old message does nothing." }),
});
export type ReminderPayload = z.infer<typeof ReminderPayload>;

export const SweepPayload = z.object({
  sweep: z.literal(true),
  grace_seconds: z.number().int().min(0).max(86_400).optional().openapi({ example: 60, description: "Leave reminders due less than this long ago to their delayed message (default 60)." }),
  workspace_id: z.string().min(1).max(100).optional().openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r", description: "Only this workspace's reminders (default: every workspace)." }),
  budget_ms: z.number().int().min(100).max(600_000).optional().openapi({ example: 20_000, description: "Stop claiming new batches after this long (default 20,000); the next firing takes the rest." }),
});

export const SWEEP_DEFAULTS = { grace_seconds: 60, budget_ms: 20_000 };

export const app = createJobApp(
  "reminders",
  z.union([SweepPayload, ReminderPayload]),
  async (tx, payload, meta) => {
    if ("sweep" in payload) {
      // In the run's transaction: the sweep's claims commit with its record, or not at all.
      return sweepDue(meta.services, {
        tx, graceSeconds: payload.grace_seconds ?? SWEEP_DEFAULTS.grace_seconds, budgetMs: payload.budget_ms ?? SWEEP_DEFAULTS.budget_ms, workspaceId: payload.workspace_id });
    }
    return sendScheduled(tx, meta.services, payload);
  },
  {
    summary: "Send a reminder, or sweep due reminders",
    description:
      "`{workspace_id, reminder_id, send_at}`: a reminder's delayed message; sends it if it is still scheduled for that `send_at` (a canceled, rescheduled or already sent reminder is left alone). `{sweep: true}`: the cron safety net; sends every scheduled reminder due more than `grace_seconds` ago, in batches claimed with `FOR UPDATE SKIP LOCKED`. Each reminder is sent once.",
  },
);
