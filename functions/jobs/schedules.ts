// Parley's cron schedules: each fires a job through QStash. `npm run schedules:sync` makes
// QStash's `parley-*` schedules exactly this list in production; the local server syncs it on
// every start. Areas add their periodic work here, e.g.
//   { id: "parley-reminders-sweep", job: "reminders", cron: "*/5 * * * *", payload: { sweep: true } }
// (each firing is its own logical job: lib/jobs.ts keys it by schedule and message id).
import type { ScheduleDef } from "../../lib/queue";

export const SCHEDULES: ScheduleDef[] = [
  // Events the after-commit dispatch missed (lib/event-dispatch.ts).
  { id: "parley-events-sweep", job: "events", cron: "* * * * *", payload: { sweep: true } },
];
