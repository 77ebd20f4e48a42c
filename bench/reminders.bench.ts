// The reminders sweep: 10,000 due email reminders (one workspace, one template, 1,000 contacts, an
// email channel) dispatched by the cron sweep as /jobs/reminders runs it: sweepDue in the job
// run's transaction and event scope, batches of 500 claimed with FOR UPDATE SKIP LOCKED, each
// reminder rendered and queued as an email (emails.reminder_id) in that transaction, then, after
// the commit, every email's delivery published to QStash (batch requests of 100). Target ≤ 10 s
// locally for the sweep. The deliveries go to a second local QStash stand-in that holds them,
// so Mailgun is not part of the sweep's figure; BENCH_REMINDERS_DELIVER=1 then lets them through
// (the deliveries job → the local Mailgun stand-in) and times that too.
import { sql } from "drizzle-orm";
import { sweepDue } from "../functions/email/reminders.service";
import { rowsOf } from "../lib/db";
import { newEventScope, runInEventScope } from "../lib/events";
import { newId } from "../lib/ids";
import { LocalQStash } from "../lib/local/qstash";
import { qstashQueue } from "../lib/queue";
import { channels, contacts, emails, reminders, reminderTemplates, workspaces } from "../schema";
import { startBenchServer } from "./support";

export const name = "reminders";
export const description = "10,000 due reminders dispatched by the cron sweep as queued emails (target ≤ 10 s)";
export const order = 60;

const N = Number(process.env.BENCH_REMINDERS) > 0 ? Number(process.env.BENCH_REMINDERS) : 10_000;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function run(): Promise<void> {
  const server = await startBenchServer();
  const config = server.services.config;
  // Holds what the sweep publishes until told to deliver it (to this server, over HTTP).
  const held = await LocalQStash.start({ dataDir: null, token: "bench-held", signingKeys: config.qstashSigningKeys!, paused: true });
  try {
    const { db } = server.services;
    const ws = newId("ws");
    await db.insert(workspaces).values({ id: ws, name: "bench reminders" });
    await db.insert(channels).values({ id: newId("ch"), workspaceId: ws, type: "email", name: "Bench", config: { address: `bench-${ws}@mg.parley.localhost` }, inboundKey: `bench-${ws}@mg.parley.localhost` });
    const tpl = newId("rtpl");
    await db.insert(reminderTemplates).values({ id: tpl, workspaceId: ws, name: "b", channel: "email", subject: "See you {{event_at}}", body: "<p>Hi {{contact.name}}, at {{variables.place}}</p>", offsetMinutes: -60 });
    const people = Array.from({ length: 1000 }, (_, i) => ({ id: newId("ct"), workspaceId: ws, name: `Person ${i}`, email: `p${i}-${ws}@example.com` }));
    for (let i = 0; i < people.length; i += 500) await db.insert(contacts).values(people.slice(i, i + 500));
    const due = new Date(Date.now() - 5 * 60_000);
    for (let i = 0; i < N; i += 1000) {
      await db.insert(reminders).values(
        Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({
          id: newId("rem"),
          workspaceId: ws,
          templateId: tpl,
          contactId: people[(i + j) % people.length]!.id,
          eventAt: new Date(due.getTime() + 3_600_000),
          sendAt: due,
          variables: { place: "the clinic" },
        })),
      );
    }
    if (server.services.describe.database.includes("PostgreSQL")) {
      for (const t of ["reminders", "contacts", "emails"]) await db.execute(sql.raw(`analyze ${t}`));
    }

    const services = { ...server.services.provider({ env: {} as never, waitUntil: () => undefined, defer: () => undefined }), queue: qstashQueue({ baseUrl: held.url, token: "bench-held", publicBaseUrl: () => config.publicBaseUrl }) };
    const scope = newEventScope();
    const t0 = performance.now();
    // What /jobs/reminders does with {sweep: true}: one transaction, the sweep's batches inside it.
    const out = await runInEventScope(scope, () => db.transaction((tx) => sweepDue(services, { tx, graceSeconds: 60, budgetMs: 600_000, workspaceId: ws })));
    const committed = performance.now() - t0;
    // What the job's response then does in the background: the deliveries, published after the commit.
    await Promise.all(scope.afterCommit.map((fn) => fn()));
    const published = performance.now() - t0;

    const count = async (where: ReturnType<typeof sql>) => Number(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from ${where}`))[0]?.n ?? 0);
    const [left, queued] = [
      await count(sql`${reminders} where ${reminders.workspaceId} = ${ws} and ${reminders.status} = 'scheduled'`),
      await count(sql`${emails} where ${emails.workspaceId} = ${ws} and ${emails.status} = 'queued' and ${emails.reminderId} is not null`),
    ];
    console.log(`\nreminders sweep (${server.services.describe.database})`);
    console.log(`  due reminders          ${N}`);
    console.log(`  dispatched             ${out.sent + out.failed} (sent ${out.sent}, failed ${out.failed}) in ${out.batches} batches; still scheduled ${left}`);
    console.log(`  emails queued          ${queued}; deliveries published to QStash ${held.pending().length}`);
    console.log(`  sweep committed        ${sec(committed)} (${Math.round(((out.sent + out.failed) / committed) * 1000)} reminders/s)`);
    console.log(`  + deliveries published ${sec(published)} (${sec(published - committed)} for ${Math.ceil(held.pending().length / 100)} batch requests)  ${published <= 10_000 ? "(≤ 10 s: met)" : "(> 10 s: missed)"}`);

    if (process.env.BENCH_REMINDERS_DELIVER === "1") {
      const d0 = performance.now();
      held.resume();
      for (;;) {
        const still = await count(sql`${emails} where ${emails.workspaceId} = ${ws} and ${emails.status} = 'queued'`);
        if (still === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const sent = await count(sql`${emails} where ${emails.workspaceId} = ${ws} and ${emails.status} <> 'failed'`);
      console.log(`  then delivered         ${sec(performance.now() - d0)} until no email is queued (${sent} sent through the local Mailgun stand-in, deliveries job over HTTP)`);
    }
  } finally {
    await held.close();
    await server.dispose();
  }
}
