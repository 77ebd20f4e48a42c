// Delivery attempts of outbound emails and messages: the lease a deliveries job holds while it
// talks to the provider (Mailgun, Graph) outside any transaction. An attempt whose lease ran out
// without a recorded answer crashed somewhere between the claim and the provider's answer: the
// next attempt knows the message may already have gone out.
import { index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const deliveryAttempts = pgTable(
  "delivery_attempts",
  {
    /** The email (eml_…) or WhatsApp message (msg_…) being delivered. */
    targetId: text("target_id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    attempts: integer("attempts").notNull().default(0),
    /** The attempt holding (or last holding) the lease. */
    attemptId: text("attempt_id"),
    /** Set while an attempt is in flight; null once its answer is recorded (or it gave the lease back). */
    claimedUntil: tstz("claimed_until"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("delivery_attempts_workspace_idx").on(t.workspaceId)],
);
