// The deliveries job: sends one queued outbound message or email on its channel (Mailgun, WhatsApp).
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const DeliveryPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  email_id: z.string().min(1).max(100).optional().openapi({ example: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  message_id: z.string().min(1).max(100).optional().openapi({ example: "msg_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type DeliveryPayload = z.infer<typeof DeliveryPayload>;

export const app = createJobApp(
  "deliveries",
  DeliveryPayload,
  // The sending is filled in by the channels area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Deliver an outbound message or email",
    description: "Sends one queued agent message or email through its channel's provider.",
  },
);
