// The deliveries job: sends one queued email (Mailgun) or outbound agent message (Mailgun for
// email conversations, the Graph API for WhatsApp) and records the provider's answer; or, as the
// `parley-deliveries-sweep` schedule, publishes again whatever is still queued. A send claims its
// row while it is still `queued` (an attempt lease, lib/delivery/attempt.ts), calls the provider
// outside any transaction and records the answer while the lease is its own, so a redelivery, a
// re-publish by the sweep or a concurrent run sends once. Provider outages throw: the job answers
// 5xx, QStash retries, the row stays queued.
import { z } from "@hono/zod-openapi";
import { deliverEmail, deliverMessage } from "../../lib/delivery/email";
import { SWEEP_GRACE_SECONDS, sweepQueued } from "../../lib/delivery/sweep";
import { LEASE_MS } from "../../lib/delivery/attempt";
import { createJobApp } from "../../lib/jobs";

const Id = (prefix: string) => z.string().min(1).max(100).openapi({ example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` });

export const DeliveryPayload = z
  .object({
    workspace_id: Id("ws"),
    email_id: Id("eml").optional(),
    message_id: Id("msg").optional(),
  })
  .refine((p) => Boolean(p.email_id) !== Boolean(p.message_id), { message: "Exactly one of email_id and message_id.", path: ["email_id"] });
export type DeliveryPayload = z.infer<typeof DeliveryPayload>;

export const DeliveriesSweepPayload = z.object({
  sweep: z.literal(true),
  grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .optional()
    .openapi({ example: 60, description: `Leave rows queued less than this long ago to their own job (default ${SWEEP_GRACE_SECONDS}).` }),
  workspace_id: Id("ws").optional().openapi({ description: "Only this workspace's rows (default: every workspace)." }),
});

const Payload = z.union([DeliveriesSweepPayload, DeliveryPayload]);

export const app = createJobApp(
  "deliveries",
  Payload,
  {
    // Two steps (lib/jobs.ts): the provider is called outside any transaction, under the
    // target's own attempt lease (lib/delivery/attempt.ts), which also records the outcome.
    leaseMs: LEASE_MS,
    work: async (payload: z.output<typeof Payload>, meta) => {
      const { services } = meta;
      if ("sweep" in payload) return sweepQueued(services.db, services.queue, { graceSeconds: payload.grace_seconds, workspaceId: payload.workspace_id });
      if (payload.email_id) return deliverEmail(services, payload.workspace_id, payload.email_id);
      return deliverMessage(services, payload.workspace_id, payload.message_id!);
    },
    // What the work did is already recorded; the run keeps it as its result.
    commit: async (_tx, _payload, _meta, worked: Record<string, unknown>) => worked,
  },
  {
    summary: "Deliver an outbound message or email, or sweep queued ones",
    description:
      "`{workspace_id, email_id}` sends a queued email through Mailgun; `{workspace_id, message_id}` sends a queued agent message on its conversation's channel (an email reply, threaded, or a WhatsApp text/template, or its files as one media message each by signed link, through the Graph API). A row no longer queued is left alone, so each is sent once. Mailgun 401/403 and Graph 190 fail it and put the channel in `status: \"error\"`; other refusals (Mailgun 400, Graph 131047 outside the 24-hour window, 131026) fail it with `delivery_error`; outages (5xx, 429, network) answer 5xx so QStash retries while it stays queued. `{sweep: true}` (the `parley-deliveries-sweep` schedule, every minute) publishes again everything still queued after `grace_seconds`.",
  },
);
