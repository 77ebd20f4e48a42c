// The webhooks job: one automatic delivery attempt. The dispatcher publishes the first
// (`event_id`: the delivery is created, its body fixed, then attempted); a failed attempt
// publishes the next one (`delivery_id`, `attempt`) with a delay (lib/webhooks.ts RETRY_DELAYS).
import { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { eventContext, eventEnvelope, loadEvent } from "../../lib/event-context";
import { newId } from "../../lib/ids";
import { createJobApp } from "../../lib/jobs";
import { attemptDelivery } from "../../lib/webhooks";
import { webhookDeliveries, webhooks } from "../../schema/events";

export const WebhookPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  webhook_id: z.string().min(1).max(100).openapi({ example: "wh_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).optional().openapi({ description: "First attempt: the event to deliver.", example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  delivery_id: z.string().min(1).max(100).optional().openapi({ description: "A retry: the delivery to attempt again.", example: "whd_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  attempt: z.number().int().min(1).max(100).optional().openapi({ example: 2 }),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

export const app = createJobApp(
  "webhooks",
  WebhookPayload,
  async (tx, p, meta) => {
    const [webhook] = await tx
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.workspaceId, p.workspace_id), eq(webhooks.id, p.webhook_id)))
      .limit(1);
    if (!webhook) return { skipped: "the endpoint was deleted" };

    let delivery: typeof webhookDeliveries.$inferSelect | undefined;
    if (p.delivery_id) {
      [delivery] = await tx
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.workspaceId, p.workspace_id), eq(webhookDeliveries.id, p.delivery_id)))
        .for("update")
        .limit(1);
      if (!delivery) return { skipped: "the delivery no longer exists" };
      // Already made (a manual redelivery may have taken this attempt's number), or settled.
      if (delivery.status === "succeeded" || (p.attempt !== undefined && delivery.attemptCount >= p.attempt)) return { skipped: `the delivery is ${delivery.status}` };
    } else if (p.event_id) {
      const event = await loadEvent(tx, p.workspace_id, p.event_id);
      if (!event) return { skipped: "the event no longer exists" };
      const body = JSON.stringify(eventEnvelope(event, await eventContext(tx, event)));
      [delivery] = await tx
        .insert(webhookDeliveries)
        .values({ id: newId("whd"), workspaceId: p.workspace_id, webhookId: webhook.id, eventId: event.id, eventType: event.type, payload: body })
        .onConflictDoNothing()
        .returning();
      if (!delivery) return { skipped: "already delivered" };
    } else {
      return { skipped: "neither event_id nor delivery_id" };
    }

    if (!webhook.active) {
      // Disabled (or switched off) meanwhile: the delivery ends here.
      await tx
        .update(webhookDeliveries)
        .set({ status: "failed", error: "the endpoint is disabled", nextAttemptAt: null, updatedAt: new Date() })
        .where(eq(webhookDeliveries.id, delivery.id));
      return { delivery_id: delivery.id, status: "failed", reason: "endpoint disabled" };
    }
    const after = await attemptDelivery(tx, meta.services, webhook, delivery, { automatic: true, countsTowardHealth: true });
    return { delivery_id: after.id, status: after.status, response_status: after.responseStatus, attempt: after.attemptCount };
  },
  {
    summary: "Deliver a webhook event",
    description:
      "Makes one delivery attempt of one event to one webhook endpoint, signed per the Standard Webhooks spec (`webhook-id` is the delivery's id on every attempt). A non-2xx answer, a timeout or a refused target is recorded in the delivery log and retried by a delayed job (30 s, 2 min, 10 min, 1 h, 6 h; 6 attempts in all).",
  },
);
