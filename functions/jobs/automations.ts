// The automations job: evaluates a workspace's active automations listening to one event and
// runs the actions of those whose conditions hold. One job per event (dedup id
// `automations:<evt>`, published by lib/event-dispatch.ts), run in the job_runs transaction of
// lib/jobs.ts; each automation then has its run row (unique per automation and event, so it
// runs at most once whoever delivers the job) and its actions in a savepoint of their own: a
// failing action undoes that run's changes and marks it failed, and the next automation runs.
// Actions go through the areas' services, so the usual events are recorded, one hop deeper
// (events.depth) than the event that caused them: the loop guard.
import { z } from "@hono/zod-openapi";
import { and, asc, count, eq, sql } from "drizzle-orm";
import { firstFailing } from "../../lib/automations";
import type { Tx } from "../../lib/db";
import { eventContext, eventEnvelope, type EventRow, loadEvent } from "../../lib/event-context";
import { MAX_AUTOMATION_DEPTH } from "../../lib/event-dispatch";
import { ApiError, DependencyError, describeError, isDependencyFailure, transactionConflict } from "../../lib/errors";
import { afterCommit, runAtDepth } from "../../lib/events";
import { newId } from "../../lib/ids";
import { createJobApp, type JobMeta } from "../../lib/jobs";
import { publishDelivery } from "../../lib/delivery/publish";
import { queueEmail } from "../../lib/email";
import { postOutbound } from "../../lib/outbound";
import { signedHeaders } from "../../lib/webhooks";
import { channels, contacts, messages, reminderTemplates } from "../../schema";
import { type AutomationAction, type AutomationActionResult, automationRuns, automations } from "../../schema/events";
import { sendMessage } from "../conversations/messages.service";
import { findConversation, updateConversation } from "../conversations/service";
import { insertSummaryRequest, publishSummary } from "../conversations/summaries.service";
import { prepareSend } from "../conversations/whatsapp";
import { renderEmail } from "../email/reminder-render";
import { addEntityTag, removeEntityTag } from "../tags/service";

export const AutomationPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event_id: z.string().min(1).max(100).openapi({ example: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  event: z.string().min(1).max(100).openapi({ example: "conversation.created" }),
});
export type AutomationPayload = z.infer<typeof AutomationPayload>;

/**
 * A webhook action's attempts: the job's first delivery and QStash's retries (3 by default). Until
 * the last, a failed request fails the whole job so QStash delivers it again; on the last, the
 * run is recorded failed.
 */
export const WEBHOOK_ATTEMPTS = 4;
const MAX_ERROR = 2000;

type AutomationRow = typeof automations.$inferSelect;

/** Thrown out of the run (and the job) so QStash retries: a webhook action that may succeed later. */
class RetryLater extends DependencyError {}

/** An action that cannot be done; the run fails with this message. */
class ActionFailed extends Error {
  override name = "ActionFailed";
}

interface RunContext {
  tx: Tx;
  meta: JobMeta;
  event: EventRow;
  data: Record<string, unknown>;
  automation: AutomationRow;
  actor: string;
  /** Work to start once the job's transaction has committed (kept only if the run succeeds). */
  later: Array<() => Promise<unknown>>;
}

const idOf = (v: unknown): string | undefined => {
  const id = (v as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
};

function conversationOf(ctx: RunContext): string {
  const id = idOf(ctx.data.conversation);
  if (!id) throw new ActionFailed("the conversation no longer exists");
  return id;
}

async function perform(ctx: RunContext, action: AutomationAction, index: number): Promise<string> {
  const { tx, event, automation, actor } = ctx;
  const ws = event.workspaceId;
  switch (action.type) {
    case "add_tag":
    case "remove_tag": {
      const contactOnly = event.type === "contact.created";
      const kind = contactOnly ? "contact" : "conversation";
      const id = contactOnly ? idOf(ctx.data.contact) : conversationOf(ctx);
      if (!id) throw new ActionFailed("the contact no longer exists");
      if (action.type === "add_tag") {
        const tag = await addEntityTag(tx, ws, kind, id, action.tag, actor);
        return `tagged ${id} with ${tag.name}`;
      }
      return (await removeEntityTag(tx, ws, kind, id, action.tag, actor)) ? `removed ${action.tag} from ${id}` : `${id} was not tagged ${action.tag}`;
    }
    case "assign": {
      const id = conversationOf(ctx);
      await updateConversation(tx, ws, id, { assignee_id: action.agent_id }, actor);
      return action.agent_id ? `assigned ${id} to ${action.agent_id}` : `unassigned ${id}`;
    }
    case "set_status": {
      const id = conversationOf(ctx);
      await updateConversation(tx, ws, id, { status: action.status as "open" }, actor);
      return `set ${id} to ${action.status}`;
    }
    case "send_message": {
      const conv = await findConversation(tx, ws, conversationOf(ctx));
      // WhatsApp's 24-hour rule applies as to an agent (409 outside the window → the run fails).
      const input = await prepareSend(tx, conv, { content: action.content, sender_type: "agent" });
      const m = await sendMessage(tx, conv, { ...input, metadata: { ...(input.metadata ?? {}), automation_id: automation.id } }, { actor });
      return `sent ${m.id}`;
    }
    case "summarize": {
      const conv = await findConversation(tx, ws, conversationOf(ctx));
      if (!conv.content) {
        const [n] = await tx
          .select({ n: count() })
          .from(messages)
          .where(and(eq(messages.workspaceId, ws), eq(messages.conversationId, conv.id)));
        if (!n?.n) throw new ActionFailed("the conversation has no content and no messages: nothing to summarise yet");
      }
      const s = await insertSummaryRequest(tx, ws, conv.id, {}, actor);
      const { db, queue } = ctx.meta.services;
      ctx.later.push(() => publishSummary(db, queue, s));
      return `requested ${s.id}`;
    }
    case "send_email": {
      const contactId = idOf(ctx.data.contact);
      const [contact] = contactId
        ? await tx
            .select({ id: contacts.id, name: contacts.name, email: contacts.email })
            .from(contacts)
            .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, contactId)))
            .limit(1)
        : [];
      if (!contact) throw new ActionFailed("the event concerns no contact to email");
      if (!contact.email) throw new ActionFailed(`the contact ${contact.id} has no email address`);
      const [tpl] = await tx
        .select()
        .from(reminderTemplates)
        .where(and(eq(reminderTemplates.workspaceId, ws), eq(reminderTemplates.id, action.template_id)))
        .limit(1);
      if (tpl?.channel !== "email") throw new ActionFailed("the email template no longer exists");
      const rendered = renderEmail(tpl, { contact: { name: contact.name, email: contact.email }, eventAt: null, variables: {} });
      if (!rendered.subject) throw new ActionFailed("the template renders an empty subject");
      // The conversation's own email channel when it has one, else the workspace's default.
      const conv = ctx.data.conversation as { id?: string; channel_id?: string | null } | undefined;
      let channelId: string | null = null;
      if (conv?.channel_id) {
        const [ch] = await tx
          .select({ type: channels.type })
          .from(channels)
          .where(and(eq(channels.workspaceId, ws), eq(channels.id, conv.channel_id)))
          .limit(1);
        if (ch?.type === "email") channelId = conv.channel_id;
      }
      // Published by the run once it has committed (not if a later action undoes it).
      const email = await queueEmail(tx, {
        workspaceId: ws,
        to: [contact.email],
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        channelId,
        contactId: contact.id,
        conversationId: conv?.id ?? null,
        templateId: tpl.id,
      });
      const { queue } = ctx.meta.services;
      ctx.later.push(() =>
        publishDelivery(queue, { workspace_id: ws, email_id: email.id }).catch((err) => {
          console.warn(JSON.stringify({ msg: "delivery not published; the sweep will send it", email_id: email.id, error: describeError(err) }));
        }),
      );
      return `queued ${email.id} to ${contact.email}`;
    }
    case "webhook": {
      if (!automation.webhookSecret) throw new ActionFailed("the automation has no webhook signing secret");
      // The same id on every attempt, so a receiver can drop a repeat.
      const webhookId = `awh_${automation.id.replace(/^auto_/, "")}_${event.id.replace(/^evt_/, "")}_${index}`;
      const envelope = eventEnvelope(event, ctx.data);
      const body = JSON.stringify({ ...envelope, data: { ...envelope.data, automation_id: automation.id } });
      const headers = await signedHeaders({ secret: automation.webhookSecret, previousSecret: null, previousSecretExpiresAt: null }, webhookId, body);
      const r = await postOutbound(action.url, headers, body, { allowPrivate: ctx.meta.services.config.webhooksAllowPrivateTargets });
      if (r.status !== null && r.status >= 200 && r.status < 300) return `POST ${action.url} → ${r.status} in ${r.latencyMs} ms`;
      const why = `POST ${action.url} failed: ${r.error ?? `HTTP ${r.status}`}`;
      if (ctx.meta.retried + 1 < WEBHOOK_ATTEMPTS) throw new RetryLater(`${why} (attempt ${ctx.meta.retried + 1} of ${WEBHOOK_ATTEMPTS}; retried)`);
      throw new ActionFailed(`${why} (attempt ${ctx.meta.retried + 1} of ${WEBHOOK_ATTEMPTS})`);
    }
  }
}

const messageOf = (err: unknown): string => {
  if (err instanceof ActionFailed) return err.message;
  if (err instanceof ApiError) {
    const fields = (err.details as { fields?: Record<string, string[]> } | undefined)?.fields;
    return fields ? `${err.message} ${Object.values(fields).flat().join(" ")}` : err.message;
  }
  return describeError(err);
};

type Outcome = "succeeded" | "failed" | "skipped" | "already_run";

async function runAutomation(tx: Tx, meta: JobMeta, event: EventRow, data: Record<string, unknown>, a: AutomationRow): Promise<Outcome> {
  const started = new Date();
  const t0 = performance.now();
  const base = { id: newId("arun"), workspaceId: event.workspaceId, automationId: a.id, eventId: event.id, eventType: event.type, depth: event.depth, createdAt: started };

  const skip =
    event.depth >= MAX_AUTOMATION_DEPTH
      ? `loop guard: the event is ${event.depth} automation hops deep (at most ${MAX_AUTOMATION_DEPTH - 1} trigger automations)`
      : firstFailing(a.conditions, data);
  if (skip) {
    const ms = Math.round(performance.now() - t0);
    const done = await tx
      .insert(automationRuns)
      .values({ ...base, status: "skipped", reason: skip.slice(0, MAX_ERROR), finishedAt: new Date(), durationMs: ms })
      .onConflictDoNothing()
      .returning({ id: automationRuns.id });
    return done.length ? "skipped" : "already_run";
  }

  // The run row first: it is what makes this (automation, event) run once. A concurrent run
  // of the same pair waits here on the unique index and then finds it taken.
  const claimed = await tx.insert(automationRuns).values({ ...base, status: "succeeded" }).onConflictDoNothing().returning({ id: automationRuns.id });
  if (!claimed.length) return "already_run";

  const results: AutomationActionResult[] = a.actions.map((x) => ({ type: x.type, status: "not_run" }));
  const ctx: RunContext = { tx, meta, event, data, automation: a, actor: a.id, later: [] };
  let error: string | null = null;
  try {
    // A savepoint: a failing action undoes the run's changes, and only them.
    await tx.transaction(async (sp) => {
      await runAtDepth(event.depth + 1, async () => {
        for (const [i, action] of a.actions.entries()) {
          const s = performance.now();
          try {
            const detail = await perform({ ...ctx, tx: sp }, action, i);
            results[i] = { type: action.type, status: "succeeded", detail, duration_ms: Math.round(performance.now() - s) };
          } catch (err) {
            if (!(err instanceof RetryLater)) results[i] = { type: action.type, status: "failed", error: messageOf(err).slice(0, MAX_ERROR), duration_ms: Math.round(performance.now() - s) };
            throw err;
          }
        }
      });
    });
  } catch (err) {
    // Worth another delivery of the whole job: a webhook with attempts left, or a dependency
    // (the database, the queue) that is down, or a deadlock / serialization failure (the whole
    // transaction is rolled back; the next delivery runs it again).
    if (err instanceof RetryLater || isDependencyFailure(err) || transactionConflict(err)) throw err;
    error = `action ${results.findIndex((r) => r.status === "failed") + 1} (${results.find((r) => r.status === "failed")?.type ?? "?"}) failed: ${messageOf(err)}`.slice(0, MAX_ERROR);
  }
  if (!error) for (const fn of ctx.later) afterCommit(fn);

  const ms = Math.round(performance.now() - t0);
  await tx
    .update(automationRuns)
    .set({ status: error ? "failed" : "succeeded", error, results, finishedAt: new Date(), durationMs: ms })
    .where(eq(automationRuns.id, base.id));
  await tx
    .update(automations)
    .set({ runCount: sql`${automations.runCount} + 1`, lastRunAt: started })
    .where(eq(automations.id, a.id));
  return error ? "failed" : "succeeded";
}

export const app = createJobApp(
  "automations",
  AutomationPayload,
  async (tx, p, meta) => {
    const event = await loadEvent(tx, p.workspace_id, p.event_id);
    if (!event) return { skipped: "the event no longer exists" };
    const list = await tx
      .select()
      .from(automations)
      .where(and(eq(automations.workspaceId, event.workspaceId), eq(automations.event, event.type), eq(automations.active, true)))
      .orderBy(asc(automations.createdAt), asc(automations.id));
    if (!list.length) return { event_id: event.id, automations: 0 };
    const data = await eventContext(tx, event);
    const tally: Record<Outcome, number> = { succeeded: 0, failed: 0, skipped: 0, already_run: 0 };
    for (const a of list) tally[await runAutomation(tx, meta, event, data, a)]++;
    return { event_id: event.id, automations: list.length, ...tally };
  },
  {
    summary: "Run automations for an event",
    description:
      "Evaluates the workspace's active automations listening to one event and runs the actions of those whose conditions hold. Each (automation, event) runs at most once (a unique run row); a failing action marks its run failed and undoes that run's changes without stopping the other automations; the changes actions make are recorded as events one automation hop deeper. A webhook action that fails answers 5xx so QStash delivers the job again (up to 4 attempts), then the run is recorded failed.",
  },
);
