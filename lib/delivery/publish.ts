// Publishing deliveries: one `deliveries` job per queued email or outbound message, after the
// transaction that queued it has committed. If QStash is down at that moment nothing is lost:
// the row stays queued and the `parley-deliveries-sweep` schedule publishes it again.
import { afterCommit } from "../events";
import type { Queue } from "../queue";

export interface DeliveryTarget {
  workspace_id: string;
  email_id?: string;
  message_id?: string;
}

/** The job key of a target's first publish; a sweep's re-publish adds its firing minute. */
export const deliveryKey = (t: DeliveryTarget, sweep?: string) => `delivery:${t.email_id ?? t.message_id}${sweep ? `:sweep:${sweep}` : ""}`;

/** QStash retries of one delivery job (its backoff reaches about an hour); the sweep covers the rest. */
export const DELIVERY_RETRIES = 5;

export async function publishDelivery(queue: Queue, target: DeliveryTarget): Promise<void> {
  await queue.publish("deliveries", target, { deduplicationId: deliveryKey(target), retries: DELIVERY_RETRIES });
}

/**
 * Publishes the delivery of `target` once the enclosing request or job run has committed. A
 * failure to publish is logged and left to the sweep. Outside a request scope nothing is
 * published here: the sweep finds the row within about a minute.
 */
export function deliverAfterCommit(queue: Queue | undefined, target: DeliveryTarget): boolean {
  if (!queue) return false;
  return afterCommit(() =>
    publishDelivery(queue, target).catch((err) => {
      console.warn(JSON.stringify({ msg: "delivery not published; the sweep will send it", target, error: err instanceof Error ? err.message : String(err) }));
    }),
  );
}
