// The automations job: evaluates a workspace's automations against one domain event.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const AutomationPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).openapi({ example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event: z.string().min(1).max(100).openapi({ example: "conversation.created" }),
});
export type AutomationPayload = z.infer<typeof AutomationPayload>;

export const app = createJobApp(
  "automations",
  AutomationPayload,
  // The rules are filled in by the automations area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Run automations for an event",
    description: "Evaluates the workspace's active automations against one domain event and runs the matching actions.",
  },
);
