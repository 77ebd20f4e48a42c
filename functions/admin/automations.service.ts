// /v1/automations SQL: the one place automations and their run log are read and written, and
// where a rule is checked against the workspace (its agents, templates, webhook targets).
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { ruleProblems } from "../../lib/automations";
import type { Db } from "../../lib/db";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/openapi";
import { checkTarget, TargetRefused } from "../../lib/outbound";
import { offsetOf, type Page } from "../../lib/pagination";
import type { Services } from "../../lib/services";
import { newWebhookSecret } from "../../lib/webhooks";
import { agents, reminderTemplates } from "../../schema";
import { customVariables } from "../email/reminder-render";
import { type AutomationAction, type AutomationCondition, automationRuns, automations } from "../../schema/events";

export type AutomationRow = typeof automations.$inferSelect;
export type RunRow = typeof automationRuns.$inferSelect;

export interface AutomationInput {
  name: string;
  event: string;
  conditions: AutomationCondition[];
  actions: AutomationAction[];
  active: boolean;
}

export const automationJson = (a: AutomationRow) => ({
  id: a.id,
  name: a.name,
  event: a.event,
  conditions: a.conditions,
  actions: a.actions as unknown as Array<Record<string, unknown>>,
  active: a.active,
  run_count: a.runCount,
  last_run_at: iso(a.lastRunAt),
  created_at: a.createdAt.toISOString(),
  updated_at: a.updatedAt.toISOString(),
});

export const runJson = (r: RunRow) => ({
  id: r.id,
  automation_id: r.automationId,
  event_id: r.eventId,
  event_type: r.eventType,
  status: r.status,
  depth: r.depth,
  reason: r.reason,
  error: r.error,
  results: r.results,
  started_at: r.createdAt.toISOString(),
  finished_at: iso(r.finishedAt),
  duration_ms: r.durationMs,
});

/**
 * Every problem of a rule at once (422 `details.fields` by body path): fields the event does not
 * have, actions the event cannot take, and references that are not this workspace's (another
 * workspace's agent or template looks exactly like a missing one) or webhook targets the SSRF
 * guard refuses.
 */
async function checkRule(db: Db, allowPrivate: boolean, workspaceId: string, rule: Pick<AutomationInput, "event" | "conditions" | "actions">) {
  const problems = ruleProblems(rule.event, rule.conditions, rule.actions);
  const add = (k: string, m: string) => {
    problems[k] = [...(problems[k] ?? []), m];
  };
  const agentIds = rule.actions.flatMap((a) => (a.type === "assign" && a.agent_id ? [a.agent_id] : []));
  const templateIds = rule.actions.flatMap((a) => (a.type === "send_email" ? [a.template_id] : []));
  const [agentRows, templateRows] = await Promise.all([
    agentIds.length
      ? db
          .select({ id: agents.id })
          .from(agents)
          .where(and(eq(agents.workspaceId, workspaceId), inArray(agents.id, agentIds)))
      : [],
    templateIds.length
      ? db
          .select({ id: reminderTemplates.id, channel: reminderTemplates.channel, subject: reminderTemplates.subject, body: reminderTemplates.body })
          .from(reminderTemplates)
          .where(and(eq(reminderTemplates.workspaceId, workspaceId), inArray(reminderTemplates.id, templateIds)))
      : [],
  ]);
  const knownAgents = new Set(agentRows.map((r) => r.id));
  const templates = new Map(templateRows.map((r) => [r.id, r]));
  for (const [i, a] of rule.actions.entries()) {
    if (a.type === "assign" && a.agent_id && !knownAgents.has(a.agent_id)) add(`actions.${i}.agent_id`, "No such agent in your workspace.");
    if (a.type === "send_email") {
      const tpl = templates.get(a.template_id);
      const custom = tpl ? customVariables(tpl.subject, tpl.body) : [];
      if (!tpl) add(`actions.${i}.template_id`, "No such template in your workspace.");
      else if (tpl.channel !== "email") add(`actions.${i}.template_id`, "Must be an email template.");
      else if (custom.length) add(`actions.${i}.template_id`, `The template uses ${custom.map((v) => `{{variables.${v}}}`).join(", ")}: automations have no variables to give.`);
    }
    if (a.type === "webhook") {
      try {
        a.url = (await checkTarget(a.url, { allowPrivate })).toString();
      } catch (err) {
        if (!(err instanceof TargetRefused)) throw err;
        add(`actions.${i}.url`, err.message);
      }
    }
  }
  if (Object.keys(problems).length) throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: problems } });
}

export async function findAutomation(db: Db, workspaceId: string, id: string): Promise<AutomationRow> {
  const [a] = await db
    .select()
    .from(automations)
    .where(and(eq(automations.workspaceId, workspaceId), eq(automations.id, id)))
    .limit(1);
  if (!a) throw notFound("automation");
  return a;
}

export async function listAutomations(db: Db, workspaceId: string, page: Page) {
  const where = eq(automations.workspaceId, workspaceId);
  const [rows, [n]] = await Promise.all([
    db.select().from(automations).where(where).orderBy(desc(automations.createdAt), desc(automations.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(automations).where(where),
  ]);
  return { rows: rows.map(automationJson), total: Number(n?.n ?? 0) };
}

export async function createAutomation(services: Services, workspaceId: string, input: AutomationInput): Promise<AutomationRow> {
  await checkRule(services.db, services.config.webhooksAllowPrivateTargets, workspaceId, input);
  const [a] = await services.db
    .insert(automations)
    .values({
      id: newId("auto"),
      workspaceId,
      name: input.name,
      event: input.event,
      conditions: input.conditions,
      actions: input.actions,
      active: input.active,
      webhookSecret: newWebhookSecret(),
    })
    .returning();
  return a!;
}

export async function updateAutomation(services: Services, workspaceId: string, id: string, patch: Partial<AutomationInput>): Promise<AutomationRow> {
  return services.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(automations)
      .where(and(eq(automations.workspaceId, workspaceId), eq(automations.id, id)))
      .for("update")
      .limit(1);
    if (!before) throw notFound("automation");
    const next = {
      event: patch.event ?? before.event,
      conditions: patch.conditions ?? before.conditions,
      actions: patch.actions ?? before.actions,
    };
    // The rule as a whole must hold after the change (a new event may not have the old fields).
    if (patch.event !== undefined || patch.conditions !== undefined || patch.actions !== undefined) await checkRule(tx, services.config.webhooksAllowPrivateTargets, workspaceId, next);
    const set: Partial<typeof automations.$inferInsert> = { updatedAt: new Date() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.event !== undefined) set.event = next.event;
    if (patch.conditions !== undefined) set.conditions = next.conditions;
    if (patch.actions !== undefined) set.actions = next.actions;
    if (patch.active !== undefined) set.active = patch.active;
    const [a] = await tx.update(automations).set(set).where(eq(automations.id, id)).returning();
    return a!;
  });
}

/** Flips `active` in one statement (two concurrent toggles end where they started). */
export async function toggleAutomation(db: Db, workspaceId: string, id: string): Promise<AutomationRow> {
  const [a] = await db
    .update(automations)
    .set({ active: sql`not ${automations.active}`, updatedAt: new Date() })
    .where(and(eq(automations.workspaceId, workspaceId), eq(automations.id, id)))
    .returning();
  if (!a) throw notFound("automation");
  return a;
}

export async function deleteAutomation(db: Db, workspaceId: string, id: string): Promise<void> {
  const gone = await db
    .delete(automations)
    .where(and(eq(automations.workspaceId, workspaceId), eq(automations.id, id)))
    .returning({ id: automations.id });
  if (!gone.length) throw notFound("automation");
}

export async function listRuns(db: Db, workspaceId: string, automationId: string, page: Page, status?: RunRow["status"]) {
  await findAutomation(db, workspaceId, automationId);
  const where = and(eq(automationRuns.workspaceId, workspaceId), eq(automationRuns.automationId, automationId), status ? eq(automationRuns.status, status) : undefined);
  const [rows, [n]] = await Promise.all([
    db
      .select()
      .from(automationRuns)
      .where(where)
      .orderBy(desc(automationRuns.createdAt), desc(automationRuns.id))
      .limit(page.per_page)
      .offset(offsetOf(page)),
    db.select({ n: sql<number>`count(*)::int` }).from(automationRuns).where(where),
  ]);
  return { rows: rows.map(runJson), total: Number(n?.n ?? 0) };
}
