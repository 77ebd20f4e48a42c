// The events job: fans committed domain events out to webhooks and automations.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const EventsPayload = z.object({
  workspace_id: z.string().min(1).max(100).optional().openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).optional().openapi({ example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  sweep: z.boolean().optional().openapi({ description: "Dispatch every event not yet dispatched." }),
});
export type EventsPayload = z.infer<typeof EventsPayload>;

export const app = createJobApp(
  "events",
  EventsPayload,
  // The fan-out is filled in by the events area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Dispatch domain events",
    description: "Fans one event (or, as a sweep, every undispatched event) out to webhook deliveries and automation runs.",
  },
);
