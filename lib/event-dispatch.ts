// The events dispatcher: fans each committed row of `events` out, once, to QStash jobs — one
// webhook delivery per matching active endpoint (jobs-webhooks) and one automations run per
// event when an active automation listens for its type (jobs-automations).
//
// Two paths reach it. After every request or job run that recorded events (the event scope of
// lib/events.ts), the middleware below fans them out in the background once the handler's
// transaction has committed. The cron sweep (jobs-events, every minute) picks up whatever that
// missed: QStash down at commit time, a crash between commit and publish, events written by SQL
// functions. Both publish under the same deduplication ids (`webhook:<wh>:<evt>`,
// `automations:<evt>`), which QStash deduplicates and lib/jobs.ts's job_runs make exactly-once
// for good, and mark the event dispatched only after QStash accepted the jobs: an event is
// never lost, and never delivered twice.
import { and, inArray, isNull, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { events } from "../schema/events";
import { type Db, rowsOf } from "./db";
import type { AppEnv } from "./env";
import { type EventScope, newEventScope, runInEventScope } from "./events";
import type { Queue } from "./queue";
import type { Services } from "./services";

/** Events this many automation hops deep no longer trigger automations (the loop guard). */
export const MAX_AUTOMATION_DEPTH = 3;
/** Undispatched events older than this are not fanned out any more (see expireStale). */
export const DISPATCH_LOOKBACK_HOURS = 72;
/** The sweep leaves events this young to the after-commit path. */
export const SWEEP_GRACE_SECONDS = 30;
const BATCH = 500;

export const webhookJobKey = (webhookId: string, eventId: string) => `webhook:${webhookId}:${eventId}`;
export const automationsJobKey = (eventId: string) => `automations:${eventId}`;

interface Candidate {
  id: string;
  workspace_id: string;
  type: string;
  webhook_ids: string[] | string | null;
  automate: boolean;
}

export interface FanOutResult {
  /** Events marked dispatched. */
  dispatched: number;
  /** Jobs handed to QStash (webhook deliveries + automation runs). */
  published: number;
  /** More undispatched events may be left (the batch was full). */
  more: boolean;
}

export type FanOutScope = { ids?: string[]; workspaces?: string[] } | { sweep: true };

/**
 * One round trip in the common case: the events in scope that nothing listens to are marked
 * dispatched by the same statement that finds the ones to publish.
 */
export async function fanOut(db: Db, queue: Queue, scope: FanOutScope): Promise<FanOutResult> {
  let where: ReturnType<typeof sql>;
  if ("sweep" in scope) {
    where = sql`e.created_at < now() - interval '${sql.raw(String(SWEEP_GRACE_SECONDS))} seconds'`;
  } else {
    const parts: ReturnType<typeof sql>[] = [];
    if (scope.ids?.length) parts.push(sql`e.id in (${sql.join(scope.ids.map((i) => sql`${i}`), sql`, `)})`);
    if (scope.workspaces?.length) parts.push(sql`e.workspace_id in (${sql.join(scope.workspaces.map((w) => sql`${w}`), sql`, `)})`);
    if (!parts.length) return { dispatched: 0, published: 0, more: false };
    where = sql`(${sql.join(parts, sql` or `)})`;
  }
  const res = await db.execute(sql`
    with cand as (
      select e.id, e.workspace_id, e.type,
        coalesce((select array_agg(w.id order by w.id) from webhooks w
                  where w.workspace_id = e.workspace_id and w.active and e.type = any(w.events)), '{}'::text[]) as webhook_ids,
        (e.depth < ${sql.raw(String(MAX_AUTOMATION_DEPTH))} and exists (select 1 from automations a
                  where a.workspace_id = e.workspace_id and a.event = e.type and a.active)) as automate
      from events e
      where e.dispatched_at is null
        and e.created_at > now() - interval '${sql.raw(String(DISPATCH_LOOKBACK_HOURS))} hours'
        and ${where}
      order by e.created_at
      limit ${sql.raw(String(BATCH))}
    ),
    idle as (
      update events set dispatched_at = now()
      from cand where events.id = cand.id and cardinality(cand.webhook_ids) = 0 and not cand.automate
      returning events.id
    )
    select cand.*, (select count(*) from idle)::int as idle_count, (select count(*) from cand)::int as cand_count
    from cand right join (select 1) one on true
  `);
  const rows = rowsOf<Candidate & { idle_count: number; cand_count: number }>(res);
  const idle = Number(rows[0]?.idle_count ?? 0);
  const more = Number(rows[0]?.cand_count ?? 0) >= BATCH;
  const busy = rows.filter((r) => r.id && (webhookIds(r).length > 0 || r.automate));
  if (!busy.length) return { dispatched: idle, published: 0, more };

  const items: Parameters<Queue["publishBatch"]>[0][number][] = [];
  for (const e of busy) {
    for (const wh of webhookIds(e)) {
      items.push({ job: "webhooks", payload: { workspace_id: e.workspace_id, webhook_id: wh, event_id: e.id }, deduplicationId: webhookJobKey(wh, e.id) });
    }
    if (e.automate) items.push({ job: "automations", payload: { workspace_id: e.workspace_id, event_id: e.id, event: e.type }, deduplicationId: automationsJobKey(e.id) });
  }
  // Published first, marked after: a failure here leaves the events for the sweep.
  await queue.publishBatch(items);
  const marked = await db
    .update(events)
    .set({ dispatchedAt: sql`now()` })
    .where(
      and(
        inArray(
          events.id,
          busy.map((e) => e.id),
        ),
        isNull(events.dispatchedAt),
      ),
    )
    .returning({ id: events.id });
  return { dispatched: idle + marked.length, published: items.length, more };
}

/** Postgres arrays come back as arrays (Neon) or as `{a,b}` text (some drivers). */
function webhookIds(r: Pick<Candidate, "webhook_ids">): string[] {
  const v = r.webhook_ids;
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return v.replace(/^\{|\}$/g, "").split(",").filter(Boolean);
}

/**
 * Marks undispatched events older than the lookback as dispatched without fanning them out:
 * events from before the dispatcher existed, or ones QStash refused for days. Returns how many.
 */
export async function expireStale(db: Db): Promise<number> {
  const res = await db.execute(sql`
    update events set dispatched_at = now()
    where id in (select id from events where dispatched_at is null
                 and created_at <= now() - interval '${sql.raw(String(DISPATCH_LOOKBACK_HOURS))} hours' limit 5000)
    returning id`);
  return rowsOf(res).length;
}

/** Everything undispatched, batch after batch (bounded): what the cron sweep runs. */
export async function sweep(db: Db, queue: Queue, maxBatches = 20): Promise<FanOutResult & { expired: number }> {
  const total: FanOutResult & { expired: number } = { dispatched: 0, published: 0, more: false, expired: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const r = await fanOut(db, queue, { sweep: true });
    total.dispatched += r.dispatched;
    total.published += r.published;
    total.more = r.more;
    if (!r.more) break;
  }
  total.expired = await expireStale(db);
  return total;
}

/** Fans out what `scope` recorded; a failure is left to the sweep. */
export async function dispatchScope(services: Services, scope: EventScope): Promise<FanOutResult | undefined> {
  if (!scope.ids.length && !scope.workspaces.size) return undefined;
  const queue = services.queue as Queue | undefined;
  // A Worker built without the queue (no withQueue): the sweep dispatches its events.
  if (!queue) return undefined;
  return fanOut(services.db, queue, { ids: scope.ids, workspaces: [...scope.workspaces] });
}

/**
 * The after-commit hook every function shares (lib/create-app.ts): the request runs in an event
 * scope; what it recorded is fanned out in the background once the handler (and so its
 * transaction) is done, keeping the request's database open until then.
 */
export const eventDispatch = createMiddleware<AppEnv>(async (c, next) => {
  const scope = newEventScope();
  await runInEventScope(scope, next);
  const later = c.error ? [] : scope.afterCommit;
  if (!scope.ids.length && !scope.workspaces.size && !later.length) return;
  const services = c.var.services;
  const p = Promise.all([dispatchScope(services, scope), ...later.map((fn) => fn())]);
  services.holdOpen(p);
  services.waitUntil(p);
});
