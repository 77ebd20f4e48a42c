// Parley's cron schedules: each fires a job through QStash. `npm run schedules:sync` makes
// QStash's `parley-*` schedules exactly this list in production; the local server syncs it on
// every start. Each firing is its own logical job: lib/jobs.ts keys it by schedule and message id.
import type { ScheduleDef } from "../../lib/queue";

export const SCHEDULES: ScheduleDef[] = [
  // The reminders' safety net: sends what a lost or unpublished delayed message left behind.
  { id: "parley-reminders-sweep", job: "reminders", cron: "* * * * *", payload: { sweep: true }, retries: 0 },
  // API request counters from Redis to api_usage_daily, shortly after each UTC midnight.
  { id: "parley-usage-rollup", job: "usage", cron: "10 0 * * *", payload: { rollup: true } },
  // Events the after-commit dispatch missed (lib/event-dispatch.ts).
  { id: "parley-events-sweep", job: "events", cron: "* * * * *", payload: { sweep: true } },
  // Emails and outbound messages still queued a minute on (their publish failed, or their job gave up).
  { id: "parley-deliveries-sweep", job: "deliveries", cron: "* * * * *", payload: { sweep: true }, retries: 0 },
];
