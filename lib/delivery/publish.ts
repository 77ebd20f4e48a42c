// Publishing deliveries: one `deliveries` job per queued email or outbound message, after the
// transaction that queued it has committed. If QStash is down at that moment nothing is lost:
// the row stays queued and the `parley-deliveries-sweep` schedule publishes it again.
import { afterCommitBatched } from "../events";
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

/** QStash batch requests of this many deliveries each (the queue splits bigger batches the same way). */
const PUBLISH_BATCH = 100;

/** Publishes many deliveries in batch requests; a batch that fails is logged and left to the sweep. */
export async function publishDeliveries(queue: Queue, targets: DeliveryTarget[]): Promise<number> {
  let published = 0;
  for (let i = 0; i < targets.length; i += PUBLISH_BATCH) {
    const part = targets.slice(i, i + PUBLISH_BATCH);
    try {
      await queue.publishBatch(part.map((t) => ({ job: "deliveries" as const, payload: t, deduplicationId: deliveryKey(t), retries: DELIVERY_RETRIES })));
      published += part.length;
    } catch (err) {
      console.warn(JSON.stringify({ msg: "deliveries not published; the sweep will send them", count: part.length, first: part[0], error: err instanceof Error ? err.message : String(err) }));
    }
  }
  return published;
}

/**
 * Publishes the delivery of `target` once the enclosing request or job run has committed: every
 * delivery the request or run queued goes in QStash batch requests of 100 (a reminders sweep
 * queues thousands). A failure to publish is logged and left to the sweep. Outside a request
 * scope nothing is published here: the sweep finds the row within about a minute.
 */
export function deliverAfterCommit(queue: Queue | undefined, target: DeliveryTarget): boolean {
  if (!queue) return false;
  return afterCommitBatched("deliveries", target, (targets) => publishDeliveries(queue, targets));
}
