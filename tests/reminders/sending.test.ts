// Each reminder is sent once: by its delayed message at send_at or by the cron sweep, whichever
// claims it first; a redelivered message, a message for an old time (rescheduled) and a message
// for a canceled reminder do nothing.
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobRuns } from "../../schema/jobs";
import { createHarness } from "../support/harness";
import { ahead, contact, deliverJob, deliverNow, makeDue, pendingFor, reminder, row, sweep, template } from "./helpers";

const h = await createHarness();

async function setup() {
  const t = await h.signUp();
  const tpl = await template(h, t);
  const ct = await contact(h, t);
  return { t, tpl, ct };
}

/** Reminders handled (sent or failed) according to a job's answer. */
const handled = (b: Record<string, unknown>) => {
  const r = b as { sent?: number; failed?: number };
  return (r.sent ?? 0) + (r.failed ?? 0);
};

describe("the delayed message", () => {
  it("sends the reminder when its message arrives at send_at, once; a redelivery is a no-op", async () => {
    const { t, tpl, ct } = await setup();
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const m = pendingFor(h, r.id)!;
    expect((await row(h, r.id)).qstashMessageId).toBe(m.id);
    await deliverNow(h, m);
    const after = await row(h, r.id);
    expect(["sent", "failed"]).toContain(after.status);
    expect(after.sentBy).toBe("job");
    const payload = JSON.parse(Buffer.from(m.body, "base64").toString());
    // The same message delivered again (QStash redelivery): recorded as a duplicate, nothing sent.
    const again = await deliverJob(h, payload.payload, payload.key);
    expect(again.body.duplicate).toBe(true);
    // A different message for the same reminder and time (a re-publish past dedup): the claim finds it no longer scheduled.
    const other = await deliverJob(h, payload.payload);
    expect(other.status).toBe(200);
    expect(await row(h, r.id)).toEqual(after);
  });

  it("a rescheduled reminder's old message does nothing; the new one sends it", async () => {
    const { t, tpl, ct } = await setup();
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const old = JSON.parse(Buffer.from(pendingFor(h, r.id)!.body, "base64").toString());
    await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { event_at: ahead(h, 60) } });
    // The old message arrives anyway (cancel raced its delivery).
    const res = await deliverJob(h, old.payload);
    expect(res.status).toBe(200);
    expect((await row(h, r.id)).status).toBe("scheduled");
    await deliverNow(h, pendingFor(h, r.id)!);
    expect((await row(h, r.id)).sentBy).toBe("job");
  });

  it("a canceled reminder's message does nothing", async () => {
    const { t, tpl, ct } = await setup();
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const msg = JSON.parse(Buffer.from(pendingFor(h, r.id)!.body, "base64").toString());
    await h.call("DELETE", `/v1/reminders/${r.id}`, { token: t.token });
    expect((await deliverJob(h, msg.payload)).status).toBe(200);
    const after = await row(h, r.id);
    expect(after.status).toBe("canceled");
    expect(after.sentAt).toBeNull();
    // Nor does the sweep take it, however overdue.
    await makeDue(h, r.id);
    await sweep(h, t.workspaceId);
    expect((await row(h, r.id)).status).toBe("canceled");
  });

  it("a message for another workspace's reminder does nothing", async () => {
    const { t, tpl, ct } = await setup();
    const other = await h.signUp();
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const msg = JSON.parse(Buffer.from(pendingFor(h, r.id)!.body, "base64").toString());
    expect((await deliverJob(h, { ...msg.payload, workspace_id: other.workspaceId })).status).toBe(200);
    expect((await row(h, r.id)).status).toBe("scheduled");
  });
});

describe("the sweep", () => {
  it("sends reminders overdue by more than the grace period, leaves the others", async () => {
    const { t, tpl, ct } = await setup();
    const due = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const recent = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    const later = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    await makeDue(h, due.id, 5 * 60_000);
    await makeDue(h, recent.id, 10_000);
    const res = await deliverJob(h, { sweep: true, workspace_id: t.workspaceId, grace_seconds: 60 });
    expect(res.status).toBe(200);
    expect((await row(h, due.id)).sentBy).toBe("sweep");
    expect((await row(h, recent.id)).status).toBe("scheduled");
    expect((await row(h, later.id)).status).toBe("scheduled");
    // The delayed message of the swept reminder arrives later: nothing happens.
    await deliverNow(h, pendingFor(h, due.id)!);
    expect((await row(h, due.id)).sentBy).toBe("sweep");
  });

  it("the sweep and the delayed message racing send the reminder once", async () => {
    const { t, tpl, ct } = await setup();
    const rs = [];
    for (let i = 0; i < 8; i++) rs.push(await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) }));
    const payloads = [];
    for (const r of rs) {
      await makeDue(h, r.id);
      const sendAt = (await row(h, r.id)).sendAt.toISOString();
      payloads.push({ workspace_id: t.workspaceId, reminder_id: r.id, send_at: sendAt });
    }
    const answers = await Promise.all([sweep(h, t.workspaceId), ...payloads.map((p) => deliverJob(h, p)), sweep(h, t.workspaceId)]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    for (const r of rs) {
      const after = await row(h, r.id);
      expect(["sent", "failed"]).toContain(after.status);
      expect(["job", "sweep"]).toContain(after.sentBy);
    }
    // Every reminder was handled by exactly one of the deliveries: their results add up to 8.
    const runIds = answers.map((a) => a.body.run_id);
    const runs = await h.services.db.select().from(jobRuns).where(inArray(jobRuns.id, runIds));
    expect(runs).toHaveLength(answers.length);
    expect(runs.reduce((n, run) => n + handled(run.result ?? {}), 0)).toBe(rs.length);
  });
});
