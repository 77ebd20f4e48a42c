// Outbound webhook deliveries, signed per Standard Webhooks (standardwebhooks.com): headers
// `webhook-id` (the delivery's id, the same on every attempt), `webhook-timestamp` (seconds) and
// `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the
// secret's base64-decoded bytes; during a rotation the old secret signs too, space-separated).
// One attempt is made by `attemptDelivery`; automatic attempts that fail are retried by a
// delayed QStash job on RETRY_DELAYS, and an endpoint that keeps failing is disabled.
import { and, eq, sql } from "drizzle-orm";
import { type DeliveryAttempt, webhookDeliveries, webhooks } from "../schema/events";
import type { Db } from "./db";
import { postOutbound } from "./outbound";
import type { Services } from "./services";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Seconds to wait before automatic attempt 2, 3, …: 6 attempts over about 7.5 hours. */
export const RETRY_DELAYS = [30, 120, 600, 3600, 6 * 3600];
export const MAX_ATTEMPTS = RETRY_DELAYS.length + 1;
/** Disable rule: this many failed attempts in a row, the first of them at least … */
export const DISABLE_AFTER_FAILURES = 10;
/** … this many hours ago (no success in between). */
export const DISABLE_AFTER_HOURS = 24;
/** A rotated-out secret keeps signing (second signature) for this long. */
export const ROTATION_OVERLAP_HOURS = 24;
const KEEP_ATTEMPTS = 20;
const KEEP_RESPONSE = 1024;

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

/** `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${b64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** `v1,<base64 signature>` of one message with one secret. */
export async function signatureOf(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", unb64(secret.replace(/^whsec_/, "")), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${b64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers for a delivery now. */
export async function signedHeaders(w: Pick<WebhookRow, "secret" | "previousSecret" | "previousSecretExpiresAt">, id: string, body: string, now = new Date()) {
  const timestamp = Math.floor(now.getTime() / 1000);
  const sigs = [await signatureOf(w.secret, id, timestamp, body)];
  if (w.previousSecret && w.previousSecretExpiresAt && w.previousSecretExpiresAt > now) sigs.push(await signatureOf(w.previousSecret, id, timestamp, body));
  return {
    "content-type": "application/json",
    "user-agent": "Parley-Webhooks/1.0",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sigs.join(" "),
  };
}

export interface AttemptOptions {
  /** Automatic attempts schedule the next one on failure; manual ones (redeliver, test) do not. */
  automatic: boolean;
  /** Test pings do not count toward the disable rule. */
  countsTowardHealth: boolean;
}

/**
 * Makes one attempt of `delivery` to `webhook` and records it: on the delivery (status, code,
 * latency, the attempt log), on the endpoint (its failure streak; disabled when the rule
 * holds) and, for a failed automatic attempt with attempts left, a delayed retry job.
 */
export async function attemptDelivery(db: Db, services: Services, webhook: WebhookRow, delivery: DeliveryRow, opts: AttemptOptions): Promise<DeliveryRow> {
  const now = new Date();
  const attempt = delivery.attemptCount + 1;
  const headers = await signedHeaders(webhook, delivery.id, delivery.payload, now);
  const r = await postOutbound(webhook.url, headers, delivery.payload, { allowPrivate: services.config.webhooksAllowPrivateTargets });
  const ok = r.status !== null && r.status >= 200 && r.status < 300;
  const entry: DeliveryAttempt = { attempt, at: now.toISOString(), status_code: r.status, latency_ms: r.latencyMs, error: ok ? null : (r.error ?? `HTTP ${r.status}`), ...(opts.automatic ? {} : { manual: true }) };

  let webhookAfter = webhook;
  if (opts.countsTowardHealth) {
    const [w] = await db
      .update(webhooks)
      .set(
        ok
          ? { consecutiveFailures: 0, failingSince: null, lastSuccessAt: now, updatedAt: now }
          : {
              consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`,
              failingSince: sql`coalesce(${webhooks.failingSince}, ${now.toISOString()}::timestamptz)`,
              lastFailureAt: now,
              updatedAt: now,
              // The disable rule, decided in the same statement that counts the failure.
              active: sql`case when ${disableRule} then false else ${webhooks.active} end`,
              disabledAt: sql`case when ${webhooks.active} and ${disableRule} then ${now.toISOString()}::timestamptz else ${webhooks.disabledAt} end`,
              disabledReason: sql`case when ${webhooks.active} and ${disableRule} then 'failing' else ${webhooks.disabledReason} end`,
            },
      )
      .where(and(eq(webhooks.workspaceId, webhook.workspaceId), eq(webhooks.id, webhook.id)))
      .returning();
    if (w) webhookAfter = w;
  }

  const retry = !ok && opts.automatic && attempt < MAX_ATTEMPTS && webhookAfter.active;
  const nextAt = retry ? new Date(now.getTime() + RETRY_DELAYS[attempt - 1]! * 1000) : null;
  const status = ok ? "succeeded" : retry ? "retrying" : "failed";
  const [after] = await db
    .update(webhookDeliveries)
    .set({
      status,
      attemptCount: attempt,
      // Oldest first, the last KEEP_ATTEMPTS kept.
      attempts: sql`(select coalesce(jsonb_agg(a order by n), '[]'::jsonb) from (select a, n from jsonb_array_elements(${webhookDeliveries.attempts} || ${JSON.stringify([entry])}::jsonb) with ordinality as x(a, n) order by n desc limit ${sql.raw(String(KEEP_ATTEMPTS))}) y)`,
      responseStatus: r.status,
      responseBody: r.body.slice(0, KEEP_RESPONSE),
      latencyMs: r.latencyMs,
      error: entry.error,
      lastAttemptAt: now,
      nextAttemptAt: nextAt,
      updatedAt: now,
    })
    .where(eq(webhookDeliveries.id, delivery.id))
    .returning();
  if (retry) {
    await services.queue.publish(
      "webhooks",
      { workspace_id: webhook.workspaceId, webhook_id: webhook.id, delivery_id: delivery.id, attempt: attempt + 1 },
      { delay: RETRY_DELAYS[attempt - 1], deduplicationId: `webhook-attempt:${delivery.id}:${attempt + 1}` },
    );
  }
  return after!;
}

// Evaluated on the row before the update: this failure makes the streak count + 1.
const disableRule = sql`(${webhooks.consecutiveFailures} + 1 >= ${sql.raw(String(DISABLE_AFTER_FAILURES))} and coalesce(${webhooks.failingSince}, now()) <= now() - interval '${sql.raw(String(DISABLE_AFTER_HOURS))} hours')`;
