// `npm run schedules:sync`: makes QStash's `parley-*` cron schedules exactly the list in
// functions/jobs/schedules.ts (creates, updates, deletes; running it twice changes nothing).
// Needs QSTASH_TOKEN and PUBLIC_BASE_URL (the origin QStash calls back); QSTASH_URL defaults to
// https://qstash.upstash.io. The local server does the same on every start by itself.
import { SCHEDULES } from "../functions/jobs/schedules";
import { qstashQueue } from "../lib/queue";

const env = process.env;
const missing = ["QSTASH_TOKEN", "PUBLIC_BASE_URL"].filter((k) => !env[k]);
if (missing.length) {
  console.error(`schedules:sync needs ${missing.join(" and ")} (see README, "Jobs and QStash").`);
  process.exit(1);
}
if (env.QSTASH_DEV && env.QSTASH_DEV !== "false" && env.QSTASH_DEV !== "0") {
  console.error("QSTASH_DEV is set: unset it, or the QStash SDK would ignore QSTASH_URL and QSTASH_TOKEN.");
  process.exit(1);
}
const publicBaseUrl = env.PUBLIC_BASE_URL!.replace(/\/+$/, "");
const queue = qstashQueue({ baseUrl: env.QSTASH_URL || "https://qstash.upstash.io", token: env.QSTASH_TOKEN!, publicBaseUrl: () => publicBaseUrl });
const r = await queue.syncSchedules(SCHEDULES);
const line = (label: string, ids: string[]) => console.log(`${label.padEnd(10)}${ids.length ? ids.join(", ") : "-"}`);
console.log(`QStash schedules for ${publicBaseUrl}/jobs/*:`);
line("created", r.created);
line("updated", r.updated);
line("unchanged", r.unchanged);
line("deleted", r.deleted);
