// The domain event log and what consumes it: every change later features react to is written
// to `events` in the same transaction as the change itself; the dispatcher (lib/event-dispatch.ts)
// fans each committed event out once to outbound webhooks and automations.
import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    /** e.g. conversation.created, message.created, tag.added */
    type: text("type").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id").notNull(),
    /** Who caused it: agt_…, key_…, auto_… (an automation's action), or "system". */
    actor: text("actor").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    /** How many automation hops led here (0: a person or an integration); the loop guard. */
    depth: integer("depth").notNull().default(0),
    /** When the dispatcher handed it to QStash (null: not yet; the sweep picks those up). */
    dispatchedAt: tstz("dispatched_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("events_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    index("events_workspace_type_idx").on(t.workspaceId, t.type),
    // Only undispatched events are in it: it stays tiny, and the sweep reads it.
    index("events_undispatched_idx").on(t.createdAt).where(sql`${t.dispatchedAt} is null`),
  ],
);

/** Outbound webhook endpoints (Standard Webhooks). */
export const webhooks = pgTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    description: text("description"),
    events: text("events").array().notNull(),
    active: boolean("active").notNull().default(true),
    /** `whsec_` + base64 of 32 random bytes; shown once at creation and at rotation. */
    secret: text("secret").notNull(),
    /** The secret before the last rotation: deliveries are signed with both until it expires. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: tstz("previous_secret_expires_at"),
    /** Failed attempts since the last success, and when that run of failures began. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    failingSince: tstz("failing_since"),
    disabledAt: tstz("disabled_at"),
    disabledReason: text("disabled_reason"),
    lastSuccessAt: tstz("last_success_at"),
    lastFailureAt: tstz("last_failure_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhooks_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id)],
);

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  manual?: boolean;
}

/** One message to one endpoint (the `webhook-id` the receiver sees), with its attempts. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    /** null for a test ping. */
    eventId: text("event_id"),
    eventType: text("event_type").notNull(),
    /** The exact body sent on every attempt (so retries carry the same signature input). */
    payload: text("payload").notNull(),
    /** pending → succeeded | retrying → … | failed */
    status: text("status", { enum: ["pending", "succeeded", "retrying", "failed"] }).notNull().default("pending"),
    attemptCount: integer("attempt_count").notNull().default(0),
    attempts: jsonb("attempts").$type<DeliveryAttempt[]>().notNull().default([]),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    latencyMs: integer("latency_ms"),
    error: text("error"),
    nextAttemptAt: tstz("next_attempt_at"),
    lastAttemptAt: tstz("last_attempt_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("webhook_deliveries_webhook_created_idx").on(t.webhookId, t.createdAt, t.id),
    // One delivery per (endpoint, event), whoever fanned it out.
    uniqueIndex("webhook_deliveries_webhook_event_idx").on(t.webhookId, t.eventId),
  ],
);

export interface AutomationCondition {
  field: string;
  operator: "equals" | "not_equals" | "contains" | "not_contains" | "in" | "not_in" | "exists" | "gt" | "lt";
  value?: unknown;
}
export type AutomationAction =
  | { type: "add_tag"; tag: string }
  | { type: "remove_tag"; tag: string }
  | { type: "assign"; agent_id: string | null }
  | { type: "set_status"; status: string }
  | { type: "send_message"; content: string }
  | { type: "send_email"; template_id: string }
  | { type: "summarize" }
  | { type: "webhook"; url: string };

export const automations = pgTable(
  "automations",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    event: text("event").notNull(),
    conditions: jsonb("conditions").$type<AutomationCondition[]>().notNull().default([]),
    actions: jsonb("actions").$type<AutomationAction[]>().notNull(),
    active: boolean("active").notNull().default(true),
    /** Signs the `webhook` actions' requests (Standard Webhooks, `whsec_…`); shown once, at creation. */
    webhookSecret: text("webhook_secret"),
    runCount: integer("run_count").notNull().default(0),
    lastRunAt: tstz("last_run_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("automations_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id), index("automations_workspace_event_idx").on(t.workspaceId, t.event)],
);

export interface AutomationActionResult {
  type: string;
  /** not_run: an earlier action failed. */
  status: "succeeded" | "failed" | "not_run";
  detail?: string;
  error?: string;
  duration_ms?: number;
}

/** One automation's run for one event: unique, so each (automation, event) runs once. */
export const automationRuns = pgTable(
  "automation_runs",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    automationId: text("automation_id")
      .notNull()
      .references(() => automations.id, { onDelete: "cascade" }),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** succeeded | failed (an action failed: none of the run's changes were kept) | skipped (conditions not met, or the loop guard) */
    status: text("status", { enum: ["succeeded", "failed", "skipped"] }).notNull(),
    results: jsonb("results").$type<AutomationActionResult[]>().notNull().default([]),
    error: text("error"),
    /** Why a run was skipped (the first condition that did not hold, or the loop guard). */
    reason: text("reason"),
    depth: integer("depth").notNull().default(0),
    /** created_at is when the run started. */
    finishedAt: tstz("finished_at"),
    durationMs: integer("duration_ms"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("automation_runs_automation_event_idx").on(t.automationId, t.eventId),
    index("automation_runs_automation_created_idx").on(t.automationId, t.createdAt, t.id),
  ],
);
