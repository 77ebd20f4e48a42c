// /v1/webhooks SQL and the synchronous attempts (test ping, redeliver): the one place the
// endpoints' rows are read and written.
import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/openapi";
import { checkTarget, TargetRefused } from "../../lib/outbound";
import { offsetOf, type Page } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { attemptDelivery, type DeliveryRow, newWebhookSecret, ROTATION_OVERLAP_HOURS, type WebhookRow } from "../../lib/webhooks";
import { webhookDeliveries, webhooks } from "../../schema/events";

export const webhookJson = (w: WebhookRow) => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events,
  active: w.active,
  status: (w.active ? "active" : w.disabledAt ? "disabled" : "inactive") as "active" | "inactive" | "disabled",
  disabled_reason: w.active ? null : w.disabledReason,
  disabled_at: w.active ? null : iso(w.disabledAt),
  failure_count: w.consecutiveFailures,
  last_success_at: iso(w.lastSuccessAt),
  last_failure_at: iso(w.lastFailureAt),
  created_at: w.createdAt.toISOString(),
  updated_at: w.updatedAt.toISOString(),
});

export const deliveryJson = (d: DeliveryRow) => ({
  id: d.id,
  webhook_id: d.webhookId,
  event_id: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempt_count: d.attemptCount,
  response_status: d.responseStatus,
  response_body: d.responseBody,
  latency_ms: d.latencyMs,
  error: d.error,
  attempts: d.attempts,
  next_attempt_at: iso(d.nextAttemptAt),
  last_attempt_at: iso(d.lastAttemptAt),
  payload: JSON.parse(d.payload) as Record<string, unknown>,
  created_at: d.createdAt.toISOString(),
});

/** The SSRF guard at the door: a refused URL is a 422 on `url`. */
async function validTarget(services: Services, url: string): Promise<string> {
  try {
    return (await checkTarget(url, { allowPrivate: services.config.webhooksAllowPrivateTargets })).toString();
  } catch (err) {
    if (err instanceof TargetRefused) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: { url: [err.message] } } });
    throw err;
  }
}

export async function findWebhook(db: Db, workspaceId: string, id: string): Promise<WebhookRow> {
  const [w] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.id, id)))
    .limit(1);
  if (!w) throw notFound("webhook");
  return w;
}

export async function listWebhooks(db: Db, workspaceId: string, page: Page) {
  const where = eq(webhooks.workspaceId, workspaceId);
  const [rows, [n]] = await Promise.all([
    db.select().from(webhooks).where(where).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(webhooks).where(where),
  ]);
  return { rows: rows.map(webhookJson), total: Number(n?.n ?? 0) };
}

export async function createWebhook(services: Services, workspaceId: string, input: { url: string; events: string[]; description?: string | null; active?: boolean }) {
  const url = await validTarget(services, input.url);
  const [w] = await services.db
    .insert(webhooks)
    .values({ id: newId("wh"), workspaceId, url, events: input.events, description: input.description || null, active: input.active ?? true, secret: newWebhookSecret() })
    .returning();
  return w!;
}

export async function updateWebhook(services: Services, workspaceId: string, id: string, patch: { url?: string; events?: string[]; description?: string | null; active?: boolean }) {
  const before = await findWebhook(services.db, workspaceId, id);
  const set: Partial<typeof webhooks.$inferInsert> = { updatedAt: new Date() };
  if (patch.url !== undefined) set.url = await validTarget(services, patch.url);
  if (patch.events !== undefined) set.events = patch.events;
  if (patch.description !== undefined) set.description = patch.description || null;
  if (patch.active !== undefined) {
    set.active = patch.active;
    // Switching on (also after Parley disabled it) starts a fresh failure streak.
    if (patch.active && !before.active) Object.assign(set, { disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null });
    if (!patch.active) Object.assign(set, { disabledAt: null, disabledReason: null });
  }
  const [w] = await services.db
    .update(webhooks)
    .set(set)
    .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.id, id)))
    .returning();
  if (!w) throw notFound("webhook");
  return w;
}

export async function deleteWebhook(db: Db, workspaceId: string, id: string) {
  const gone = await db
    .delete(webhooks)
    .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.id, id)))
    .returning({ id: webhooks.id });
  if (!gone.length) throw notFound("webhook");
}

/** A new secret; the old one keeps signing (a second signature) for ROTATION_OVERLAP_HOURS. */
export async function rotateSecret(db: Db, workspaceId: string, id: string) {
  const secret = newWebhookSecret();
  const expires = new Date(Date.now() + ROTATION_OVERLAP_HOURS * 3600_000);
  const [w] = await db
    .update(webhooks)
    .set({ secret, previousSecret: sql`${webhooks.secret}`, previousSecretExpiresAt: expires, updatedAt: new Date() })
    .where(and(eq(webhooks.workspaceId, workspaceId), eq(webhooks.id, id)))
    .returning();
  if (!w) throw notFound("webhook");
  return { id: w.id, secret, previous_secret_expires_at: expires.toISOString() };
}

export async function listDeliveries(db: Db, workspaceId: string, webhookId: string, page: Page, status?: string) {
  await findWebhook(db, workspaceId, webhookId);
  const where = and(
    eq(webhookDeliveries.workspaceId, workspaceId),
    eq(webhookDeliveries.webhookId, webhookId),
    status ? eq(webhookDeliveries.status, status as DeliveryRow["status"]) : undefined,
  );
  const [rows, [n]] = await Promise.all([
    db
      .select()
      .from(webhookDeliveries)
      .where(where)
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(webhookDeliveries).where(where),
  ]);
  return { rows: rows.map(deliveryJson), total: Number(n?.n ?? 0) };
}

/** `POST /v1/webhooks/{id}/test`: a `webhook.test` message, attempted now, logged, not retried. */
export async function sendTest(services: Services, workspaceId: string, id: string) {
  const w = await findWebhook(services.db, workspaceId, id);
  const deliveryId = newId("whd");
  const payload = JSON.stringify({ type: "webhook.test", timestamp: new Date().toISOString(), data: { webhook_id: w.id, message: "A test delivery from Parley." } });
  const [d] = await services.db.insert(webhookDeliveries).values({ id: deliveryId, workspaceId, webhookId: w.id, eventId: null, eventType: "webhook.test", payload }).returning();
  return attemptDelivery(services.db, services, w, d!, { automatic: false, countsTowardHealth: false });
}

/** Attempts a past delivery again now (same `webhook-id` and body); not retried automatically. */
export async function redeliver(services: Services, workspaceId: string, webhookId: string, deliveryId: string) {
  const w = await findWebhook(services.db, workspaceId, webhookId);
  const [d] = await services.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.workspaceId, workspaceId), eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, deliveryId)))
    .limit(1);
  if (!d) throw notFound("delivery");
  if (!w.active) throw new ApiError("conflict", "The endpoint is not active: turn it on (PATCH `active: true`) before redelivering.", { details: { reason: "endpoint_inactive" } });
  return attemptDelivery(services.db, services, w, d, { automatic: false, countsTowardHealth: true });
}
