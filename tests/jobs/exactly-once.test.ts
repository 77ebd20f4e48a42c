// No job's effect happens twice: redeliveries, concurrent deliveries and re-publishes of the
// same logical job find its job_runs row; a transient failure leaves nothing and answers 5xx
// (QStash retries) with the attempt recorded; a JobFailure is acknowledged as non-retryable.
import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { DependencyError } from "../../lib/errors";
import { createJobApp, JobFailure } from "../../lib/jobs";
import { createHarness } from "../support/harness";
import { delivery, runsOf, toRequest, uid } from "./helpers";

const h = await createHarness();
const base = h.services.config.publicBaseUrl!;
const keys = h.services.config.qstashSigningKeys!;

// A job whose effect is counted, and whose behaviour a test picks per key.
const effects = new Map<string, number>();
const plan = new Map<string, Array<"ok" | "transient" | "permanent" | "slow">>();
const counted = createJobApp(
  "automations",
  z.object({ workspace_id: z.string(), n: z.number() }),
  async (tx, payload, meta) => {
    const step = plan.get(meta.key)?.shift() ?? "ok";
    if (step === "transient") throw new DependencyError("database connection terminated");
    if (step === "permanent") throw new JobFailure("The automation was deleted.", "not_found");
    if (step === "slow") await new Promise((r) => setTimeout(r, 50));
    // The effect: a write in the run's transaction, and a count we can read back.
    await tx.execute("select 1");
    effects.set(meta.key, (effects.get(meta.key) ?? 0) + 1);
    return { n: payload.n };
  },
  { summary: "test", description: "test" },
);

const deliver = (d: ReturnType<typeof delivery>) => counted.fetch(toRequest(d), { PARLEY_SERVICES: h.services.provider });
const envelopeFor = (key: string) => ({ key, payload: { workspace_id: "ws_once", n: 1 } });

describe("exactly-once effects", () => {
  it("a job delivered three times has one effect; the others are acknowledged as duplicates", async () => {
    const key = uid("k");
    const d = delivery(base, "automations", envelopeFor(key), keys.current);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await deliver({ ...d, headers: { ...d.headers, "upstash-retried": String(i) } });
      expect(res.status).toBe(200);
      answers.push(((await res.json()) as { duplicate: boolean }).duplicate);
    }
    expect(answers).toEqual([false, true, true]);
    expect(effects.get(key)).toBe(1);
    const runs = await runsOf(h.services.db, "automations", key);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", attempts: 1, result: { n: 1 }, workspaceId: "ws_once" });
  });

  it("concurrent deliveries of one job have one effect", async () => {
    const key = uid("k");
    plan.set(key, ["slow"]);
    const d = delivery(base, "automations", envelopeFor(key), keys.current);
    const res = await Promise.all(Array.from({ length: 5 }, (_, i) => deliver(delivery(base, "automations", envelopeFor(key), keys.current, { messageId: `msg_c${i}` }))));
    expect(res.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const bodies = (await Promise.all(res.map((r) => r.json()))) as Array<{ duplicate: boolean }>;
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(effects.get(key)).toBe(1);
    expect(await runsOf(h.services.db, "automations", key)).toHaveLength(1);
    expect(d.body).toContain(key);
  });

  it("a re-publish of the same logical job (new message id) is a no-op", async () => {
    const key = uid("k");
    const first = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { messageId: "msg_first" }));
    const again = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { messageId: "msg_second" }));
    expect(((await first.json()) as { duplicate: boolean }).duplicate).toBe(false);
    expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(effects.get(key)).toBe(1);
  });

  it("a transient failure leaves no effect, answers 5xx and records the attempt; the retry then runs once", async () => {
    const key = uid("k");
    plan.set(key, ["transient", "ok"]);
    const first = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { retried: 0 }));
    expect(first.status).toBe(503);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    expect(effects.get(key)).toBeUndefined();
    expect(await runsOf(h.services.db, "automations", key)).toMatchObject([{ status: "retrying", attempts: 1 }]);

    const retry = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { retried: 1 }));
    expect(retry.status).toBe(200);
    expect(effects.get(key)).toBe(1);
    const [run] = await runsOf(h.services.db, "automations", key);
    expect(run).toMatchObject({ status: "completed", attempts: 2, error: null });

    const late = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { retried: 2 }));
    expect(((await late.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(effects.get(key)).toBe(1);
  });

  it("a JobFailure is acknowledged as non-retryable, recorded failed, and its redelivery does nothing", async () => {
    const key = uid("k");
    plan.set(key, ["permanent"]);
    const res = await deliver(delivery(base, "automations", envelopeFor(key), keys.current));
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect(await runsOf(h.services.db, "automations", key)).toMatchObject([{ status: "failed", error: "The automation was deleted." }]);
    const again = await deliver(delivery(base, "automations", envelopeFor(key), keys.current, { retried: 1 }));
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string; duplicate: boolean })).toMatchObject({ status: "failed", duplicate: true });
    expect(effects.get(key)).toBeUndefined();
  });

  it("each firing of a schedule is its own job, keyed by the message id", async () => {
    const env = { key: `schedule:${uid("parley-test")}`, payload: { workspace_id: "ws_once", n: 2 }, repeat: true };
    const [m1, m2] = [uid("msg"), uid("msg")];
    const a = await deliver(delivery(base, "automations", env, keys.current, { messageId: m1 }));
    const a2 = await deliver(delivery(base, "automations", env, keys.current, { messageId: m1, retried: 1 }));
    const b = await deliver(delivery(base, "automations", env, keys.current, { messageId: m2 }));
    expect([a.status, a2.status, b.status]).toEqual([200, 200, 200]);
    expect(((await a2.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect(effects.get(`${env.key}@${m1}`)).toBe(1);
    expect(effects.get(`${env.key}@${m2}`)).toBe(1);
  });
});
