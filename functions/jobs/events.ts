// The events job: the dispatcher's safety net. Every minute a QStash schedule fires it with
// `{sweep: true}` and it fans out every event the after-commit path missed (QStash down at
// commit time, a crash in between, events written by SQL functions during a stream); with
// `event_id` (or `workspace_id`) it fans out just those. Same deduplication ids as the
// after-commit path (lib/event-dispatch.ts), so nothing is delivered twice.
import { z } from "@hono/zod-openapi";
import { fanOut, sweep } from "../../lib/event-dispatch";
import { createJobApp, JobFailure } from "../../lib/jobs";

export const EventsPayload = z.object({
  workspace_id: z.string().min(1).max(100).optional().openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).optional().openapi({ example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  sweep: z.boolean().optional().openapi({ description: "Dispatch every event not yet dispatched." }),
});
export type EventsPayload = z.infer<typeof EventsPayload>;

export const app = createJobApp(
  "events",
  EventsPayload,
  // In the run's transaction: a failed publish rolls the marks back and QStash retries.
  async (db, payload, meta) => {
    const { queue } = meta.services;
    if (payload.sweep) return { ...(await sweep(db, queue)) };
    if (!payload.event_id && !payload.workspace_id) throw new JobFailure("Give `event_id`, `workspace_id` or `sweep: true`.", "validation_error");
    const r = await fanOut(db, queue, payload.event_id ? { ids: [payload.event_id] } : { workspaces: [payload.workspace_id!] });
    return { ...r };
  },
  {
    summary: "Dispatch domain events",
    description:
      "Fans one event (`event_id`), a workspace's undispatched events (`workspace_id`), or — as the every-minute sweep (`sweep: true`) — every event older than 30 s not yet dispatched, out to webhook deliveries and automation runs. Publishes under the same deduplication ids as the after-commit dispatch, so an event reached by both is still delivered once; events older than 72 h are marked dispatched without delivery.",
  },
);
