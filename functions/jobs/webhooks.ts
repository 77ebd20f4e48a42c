// The webhooks job: delivers one outbound event to a workspace's webhook endpoint.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const WebhookPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  webhook_id: z.string().min(1).max(100).openapi({ example: "wh_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).openapi({ example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

export const app = createJobApp(
  "webhooks",
  WebhookPayload,
  // The delivery is filled in by the webhooks area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Deliver a webhook event",
    description: "Delivers one event to one webhook endpoint, signed per the Standard Webhooks spec.",
  },
);
