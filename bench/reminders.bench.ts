// The reminders sweep: 10,000 due reminders (one workspace, one template, 1,000 contacts) claimed
// and dispatched by sweepDue in batches of 500, each batch one transaction (claim with FOR UPDATE
// SKIP LOCKED, render, record the outcome). Target ≤ 10 s locally. Until the email queue is on
// main each dispatch ends as failed/email_unavailable, so this measures claim + render + record.
import { sql } from "drizzle-orm";
import { sweepDue } from "../functions/email/reminders.service";
import { newId } from "../lib/ids";
import { contacts, reminders, reminderTemplates, workspaces } from "../schema";
import { startBenchServer } from "./support";

export const name = "reminders";
export const description = "10,000 due reminders dispatched by the cron sweep (target ≤ 10 s)";
export const order = 60;

const N = Number(process.env.BENCH_REMINDERS) > 0 ? Number(process.env.BENCH_REMINDERS) : 10_000;

export async function run(): Promise<void> {
  const server = await startBenchServer();
  try {
    const { db } = server.services;
    const ws = newId("ws");
    await db.insert(workspaces).values({ id: ws, name: "bench reminders" });
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
    const started = performance.now();
    const out = await sweepDue(server.services as never, { graceSeconds: 60, budgetMs: 600_000, workspaceId: ws });
    const ms = performance.now() - started;
    const [left] = await db.select({ n: sql<number>`count(*)::int` }).from(reminders).where(sql`${reminders.workspaceId} = ${ws} and ${reminders.status} = 'scheduled'`);
    console.log(`\nreminders sweep (${server.services.describe.database})`);
    console.log(`  due reminders      ${N}`);
    console.log(`  dispatched         ${out.sent + out.failed} (sent ${out.sent}, failed ${out.failed}) in ${out.batches} batches`);
    console.log(`  still scheduled    ${Number(left?.n ?? 0)}`);
    console.log(`  time               ${(ms / 1000).toFixed(2)} s (${Math.round(((out.sent + out.failed) / ms) * 1000)} reminders/s)`);
  } finally {
    await server.close();
  }
}
