// The local QStash-protocol server, end to end over real HTTP: the real @upstash/qstash Client
// publishes to it, it delivers signed requests to the local server's /jobs/*, honours delays,
// deduplication, retries, cancellation and schedules, and keeps pending messages on restart.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalServer, startServer } from "../../lib/local/server";
import { jobKey } from "../../lib/queue";
import { eventually, runsOf, uid } from "./helpers";

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => ["DATABASE_URL", "REDIS_URL", "NEON_WS_PROXY"].includes(k))) as Record<string, string>;

// A destination that is not a job: fails on demand, and records what QStash sent.
const seen: Array<{ retried: string | null; messageId: string | null; valid: boolean; body: string; custom: string | null }> = [];
let failuresLeft = 0;
const server: LocalServer = await startServer({
  port: 0,
  dataDir: null,
  env,
  environment: "test",
  extraRoutes: (req) => (new URL(req.url).pathname === "/flaky" ? flaky(req) : null),
});
afterAll(() => server.close());

async function flaky(req: Request): Promise<Response> {
  const body = await req.text();
  const keys = server.services.config.qstashSigningKeys!;
  const valid = await new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next })
    .verify({ signature: req.headers.get("upstash-signature") ?? "", body, url: `${server.url}/flaky` })
    .catch(() => false);
  seen.push({ retried: req.headers.get("upstash-retried"), messageId: req.headers.get("upstash-message-id"), valid, body, custom: req.headers.get("x-custom") });
  if (failuresLeft > 0) {
    failuresLeft--;
    return new Response("down", { status: 503 });
  }
  return new Response("ok");
}

const { queue, db } = server.services;
const qstash = server.services.qstash!;
const client = new Client({ baseUrl: qstash.credentials.url, token: qstash.credentials.token, devMode: false });
const reminder = () => ({ workspace_id: "ws_lq", reminder_id: uid("rem") });

describe("publish and deliver over HTTP", () => {
  it("delivers a published job, signed, to the local server's /jobs/<name>", async () => {
    expect(queue.jobUrl("reminders")).toBe(`${server.url}/jobs/reminders`);
    const p = await queue.publish("reminders", reminder());
    expect(p.messageId).toMatch(/^msg_/);
    const [run] = await eventually(async () => {
      const r = await runsOf(db, "reminders", p.key);
      return r.length ? r : undefined;
    });
    expect(run).toMatchObject({ status: "completed", messageId: p.messageId, attempts: 1, workspaceId: "ws_lq" });
  });

  it("a re-publish of the same job is deduplicated by QStash and, past that, by job_runs", async () => {
    const payload = reminder();
    const a = await queue.publish("reminders", payload);
    const b = await queue.publish("reminders", payload);
    expect(b).toMatchObject({ messageId: a.messageId, deduplicated: true, key: a.key });
    // Past QStash's deduplication (here: published without a deduplication id), the job itself is the guard.
    await client.publish({ url: queue.jobUrl("reminders"), body: JSON.stringify({ key: a.key, payload }), headers: { "Content-Type": "application/json" } });
    await qstash.idle();
    expect(await runsOf(db, "reminders", a.key)).toHaveLength(1);
  });

  it("publishes a batch in one request", async () => {
    const items = [reminder(), reminder(), reminder()].map((payload) => ({ job: "reminders" as const, payload }));
    const out = await queue.publishBatch(items);
    expect(out).toHaveLength(3);
    expect(new Set(out.map((o) => o.messageId)).size).toBe(3);
    await qstash.idle();
    for (const o of out) expect(await runsOf(db, "reminders", o.key)).toMatchObject([{ status: "completed" }]);
  });

  it("acknowledges a bad payload as failed without retrying it", async () => {
    const failed: string[] = [];
    const retried: string[] = [];
    const onFail = (e: { messageId: string }) => failed.push(e.messageId);
    const onRetry = (e: { messageId: string }) => retried.push(e.messageId);
    qstash.on("failed", onFail).on("retry", onRetry);
    const p = await queue.publish("reminders", { workspace_id: "ws_lq" }, { retries: 3 });
    await eventually(() => failed.includes(p.messageId));
    qstash.off("failed", onFail).off("retry", onRetry);
    expect(retried).not.toContain(p.messageId);
    expect(await runsOf(db, "reminders", p.key)).toMatchObject([{ status: "failed" }]);
  });

  it("refuses publishers without the token", async () => {
    const other = new Client({ baseUrl: qstash.url, token: "wrong", devMode: false, retry: false });
    await expect(other.publish({ url: queue.jobUrl("reminders"), body: "{}" })).rejects.toThrow();
  });
});

describe("delays, retries, cancel", () => {
  it("honours a delay: nothing runs until it is due", async () => {
    const p = await queue.publish("reminders", reminder(), { delay: 3600 });
    await qstash.idle();
    expect(qstash.pending().map((m) => m.id)).toContain(p.messageId);
    expect(await runsOf(db, "reminders", p.key)).toHaveLength(0);
    qstash.advance(3601_000);
    await eventually(async () => (await runsOf(db, "reminders", p.key)).length === 1);
  });

  it("honours not-before", async () => {
    const p = await queue.publish("reminders", reminder(), { notBefore: new Date(qstash.now() + 86_400_000) });
    await qstash.idle();
    expect(await runsOf(db, "reminders", p.key)).toHaveLength(0);
    qstash.advance(86_401_000);
    await eventually(async () => (await runsOf(db, "reminders", p.key)).length === 1);
  });

  it("retries after a 5xx with backoff, counting Upstash-Retried, with a valid signature each time", async () => {
    seen.length = 0;
    failuresLeft = 1;
    const { messageId } = await client.publish({ url: `${server.url}/flaky`, body: "hello", retries: 2, headers: { "X-Custom": "yes" } });
    await eventually(() => seen.length === 1);
    await eventually(() => qstash.pending().find((m) => m.id === messageId)?.retried === 1);
    qstash.advance(15_000); // QStash's first backoff is ~12 s
    await eventually(() => seen.length === 2);
    expect(seen.map((s) => s.retried)).toEqual(["0", "1"]);
    expect(seen.every((s) => s.valid && s.messageId === messageId && s.body === "hello" && s.custom === "yes")).toBe(true);
    await qstash.idle();
    expect(qstash.pending().find((m) => m.id === messageId)).toBeUndefined();
  });

  it("gives up after the last retry", async () => {
    seen.length = 0;
    failuresLeft = 10;
    const { messageId } = await client.publish({ url: `${server.url}/flaky`, body: "x", retries: 1 });
    await eventually(() => qstash.pending().find((m) => m.id === messageId)?.retried === 1);
    qstash.advance(15_000);
    await eventually(() => qstash.dlq.some((m) => m.id === messageId));
    expect(seen).toHaveLength(2);
    failuresLeft = 0;
  });

  it("cancels a pending message", async () => {
    const p = await queue.publish("reminders", reminder(), { delay: 3600 });
    expect(await queue.cancel(p.messageId)).toBe(true);
    expect(await queue.cancel(p.messageId)).toBe(false);
    qstash.advance(3601_000);
    await qstash.idle();
    expect(await runsOf(db, "reminders", p.key)).toHaveLength(0);
  });
});

describe("schedules", () => {
  it("registers schedules idempotently, fires them, and removes the ones no longer defined", async () => {
    const def = { id: "parley-test-sweep", job: "automations" as const, cron: "*/5 * * * *", payload: { workspace_id: "ws_sched", event_id: "evt_sweep", event: "sweep" } };
    expect(await queue.syncSchedules([def])).toMatchObject({ created: ["parley-test-sweep"] });
    expect(await queue.syncSchedules([def])).toMatchObject({ created: [], unchanged: ["parley-test-sweep"] });
    expect(await queue.syncSchedules([{ ...def, cron: "* * * * *" }])).toMatchObject({ updated: ["parley-test-sweep"] });
    const listed = await client.schedules.list();
    expect(listed.find((s) => s.scheduleId === "parley-test-sweep")).toMatchObject({ cron: "* * * * *", destination: `${server.url}/jobs/automations` });

    const fired: string[] = [];
    const onDelivered = (e: { messageId: string; scheduleId?: string }) => e.scheduleId === def.id && fired.push(e.messageId);
    qstash.on("delivered", onDelivered);
    qstash.advance(61_000);
    await eventually(() => fired.length === 1);
    qstash.advance(61_000);
    await eventually(() => fired.length === 2);
    qstash.off("delivered", onDelivered);
    for (const id of fired) expect(await runsOf(db, "automations", `schedule:${def.id}@${id}`)).toMatchObject([{ status: "completed", workspaceId: "ws_sched" }]);

    expect(await queue.syncSchedules([])).toMatchObject({ deleted: ["parley-test-sweep"] });
    expect((await client.schedules.list()).map((s) => s.scheduleId)).not.toContain("parley-test-sweep");
  });

  it("rejects an invalid cron", async () => {
    await expect(client.schedules.create({ destination: queue.jobUrl("automations"), cron: "every minute" })).rejects.toThrow(/cron/);
  });
});

describe("restart", () => {
  // Two cold starts of an on-disk database: slower than the rest.
  it("keeps pending messages and schedules across a restart, and delivers them afterwards", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-qstash-"));
    try {
      const first = await startServer({ port: 0, dataDir: dir, env, environment: "test" });
      const port = first.port;
      const payload = reminder();
      const p = await first.services.queue.publish("reminders", payload, { delay: 7 * 86_400 });
      // Not a parley-* schedule: the restarted server's own schedule sync leaves it alone.
      const c1 = new Client({ baseUrl: first.services.qstash!.credentials.url, token: first.services.qstash!.credentials.token, devMode: false });
      await c1.schedules.create({ scheduleId: "test-keep", destination: first.services.queue.jobUrl("automations"), cron: "0 3 * * *", body: "{}" });
      await first.close();

      const second = await startServer({ port, dataDir: dir, env, environment: "test" });
      try {
        const q2 = second.services.qstash!;
        expect(q2.pending().map((m) => m.id)).toContain(p.messageId);
        expect(q2.schedules().map((s) => s.id)).toContain("test-keep");
        expect(await runsOf(second.services.db, "reminders", p.key)).toHaveLength(0);
        q2.advance(7 * 86_400_000 + 1000);
        await eventually(async () => (await runsOf(second.services.db, "reminders", p.key)).length === 1);
        expect(p.key).toBe(await jobKey("reminders", payload));
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
