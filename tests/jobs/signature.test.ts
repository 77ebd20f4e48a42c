// /jobs/*: Upstash-Signature is verified (current key, next key, body, URL, expiry) before
// anything else, refusals are 401 in the contract's error shape, and bad payloads are
// acknowledged as non-retryable (489 + Upstash-NonRetryable-Error) and recorded as failed.
import { describe, expect, it } from "vitest";
import { app as summaries } from "../../functions/jobs/summaries";
import { JOB_NAMES, type JobName } from "../../lib/queue";
import { createHarness, expectError, type Reply } from "../support/harness";
import { delivery, runsOf, toRequest, uid } from "./helpers";

const h = await createHarness();
const base = h.services.config.publicBaseUrl!;
const keys = h.services.config.qstashSigningKeys!;

const VALID: Record<JobName, (ws: string) => unknown> = {
  summaries: (ws) => ({ workspace_id: ws, summary_id: uid("sum"), conversation_id: uid("conv") }),
  exports: (ws) => ({ workspace_id: ws, export_id: uid("exp") }),
  reminders: (ws) => ({ workspace_id: ws, reminder_id: uid("rem") }),
  webhooks: (ws) => ({ workspace_id: ws, webhook_id: uid("wh"), event_id: uid("evt") }),
  automations: (ws) => ({ workspace_id: ws, event_id: uid("evt"), event: "conversation.created" }),
  deliveries: (ws) => ({ workspace_id: ws, email_id: uid("eml") }),
  events: (ws) => ({ workspace_id: ws, event_id: uid("evt") }),
  usage: () => ({ rollup: true, days: 1 }),
};

async function send(d: { url: string; body: string; headers: Record<string, string> }, drop: string[] = []): Promise<Reply> {
  const headers = { ...d.headers };
  for (const k of drop) delete headers[k];
  const res = await h.dispatch(new Request(d.url, { method: "POST", headers, body: d.body }));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers, text };
}

const envelope = (job: JobName) => ({ key: uid(`${job}-key`), payload: VALID[job]("ws_sig") });

describe("signature verification", () => {
  it("accepts a delivery signed with the current key", async () => {
    const env = envelope("summaries");
    const r = await send(delivery(base, "summaries", env, keys.current));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ job: "summaries", key: env.key, status: "completed", duplicate: false });
    expect(r.body.run_id).toMatch(/^job_/);
  });

  it("accepts a delivery signed with the next key (rotation)", async () => {
    const env = envelope("exports");
    const r = await send(delivery(base, "exports", env, keys.next));
    expect(r.status).toBe(200);
    expect(r.body.duplicate).toBe(false);
  });

  it.each(JOB_NAMES)("/jobs/%s refuses a delivery without Upstash-Signature, and does nothing", async (job) => {
    const env = envelope(job);
    const r = await send(delivery(base, job, env, keys.current), ["upstash-signature"]);
    expect(expectError(r, 401, "unauthorized").message).toMatch(/Upstash-Signature/);
    expect(await runsOf(h.services.db, job, env.key)).toHaveLength(0);
  });

  it.each(JOB_NAMES)("/jobs/%s refuses a delivery signed with another key", async (job) => {
    const env = envelope(job);
    expectError(await send(delivery(base, job, env, "sig_not-the-right-key")), 401, "unauthorized");
    expect(await runsOf(h.services.db, job, env.key)).toHaveLength(0);
  });

  it("refuses a tampered body (signature over another body)", async () => {
    const env = envelope("reminders");
    const d = delivery(base, "reminders", env, keys.current, { signBody: JSON.stringify({ ...env, key: "other" }) });
    expectError(await send(d), 401, "unauthorized");
    expect(await runsOf(h.services.db, "reminders", env.key)).toHaveLength(0);
  });

  it("refuses a signature made for another URL (another job, another host)", async () => {
    const env = envelope("webhooks");
    expectError(await send(delivery(base, "webhooks", env, keys.current, { signUrl: `${base}/jobs/automations` })), 401, "unauthorized");
    expectError(await send(delivery(base, "webhooks", env, keys.current, { signUrl: "https://evil.example/jobs/webhooks" })), 401, "unauthorized");
    expect(await runsOf(h.services.db, "webhooks", env.key)).toHaveLength(0);
  });

  it("refuses an expired signature", async () => {
    const env = envelope("automations");
    const d = delivery(base, "automations", env, keys.current, { now: Date.now() - 10 * 60_000, ttl: 300 });
    expectError(await send(d), 401, "unauthorized");
  });

  it("refuses garbage in the header", async () => {
    const env = envelope("summaries");
    const d = delivery(base, "summaries", env, keys.current);
    d.headers["upstash-signature"] = "not.a.jwt";
    expectError(await send(d), 401, "unauthorized");
  });
});

describe("payload validation", () => {
  it("acknowledges an invalid payload as non-retryable and records it as failed", async () => {
    const key = uid("bad");
    const r = await send(delivery(base, "summaries", { key, payload: { workspace_id: "ws_bad" } }, keys.current, { retried: 2 }));
    expect(r.status).toBe(489);
    expect(r.headers.get("upstash-nonretryable-error")).toBe("true");
    expect(r.body.error.code).toBe("validation_error");
    expect(Object.keys(r.body.error.details.fields).sort()).toEqual(["payload.conversation_id", "payload.summary_id"]);
    const [run] = await runsOf(h.services.db, "summaries", key);
    expect(run).toMatchObject({ status: "failed", attempts: 3, workspaceId: "ws_bad" });
    expect(run!.error).toMatch(/invalid/);
  });

  it("acknowledges a body that is not JSON as non-retryable", async () => {
    const r = await send(delivery(base, "exports", "{not json", keys.current));
    expect(r.status).toBe(489);
    expect(r.headers.get("upstash-nonretryable-error")).toBe("true");
    expect(r.body.error.code).toBe("bad_request");
  });

  it("checks the signature before looking at the payload", async () => {
    const r = await send(delivery(base, "exports", "{not json", "sig_wrong"));
    expectError(r, 401, "unauthorized");
  });
});

describe("OpenAPI", () => {
  it("documents each job route without credentials and with the Upstash-Signature header", () => {
    const doc = summaries.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    const op = doc.paths?.["/jobs/summaries"]?.post;
    expect(op?.security).toEqual([]);
    expect(op?.parameters?.some((p) => "name" in p && p.name === "upstash-signature" && p.in === "header")).toBe(true);
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(["200", "401", "489"]));
  });

  it("misconfiguration (no signing keys) is a 500 without internals, not an open door", async () => {
    const res = await summaries.fetch(toRequest(delivery(base, "summaries", envelope("summaries"), keys.current)), {
      PARLEY_SERVICES: (ctx) => {
        const s = h.services.provider(ctx);
        return { ...s, config: { ...s.config, qstashSigningKeys: undefined } };
      },
    });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("internal_error");
  });
  it("ignores QSTASH_DEV: the SDK's public dev signing key is refused, our own keys still work", async () => {
    // The QStash SDK's published local-development signing key (DEV_CREDENTIALS in @upstash/qstash).
    const DEV_KEY = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";
    const before = process.env.QSTASH_DEV;
    process.env.QSTASH_DEV = "true";
    try {
      const forged = envelope("summaries");
      expectError(await send(delivery(base, "summaries", forged, DEV_KEY)), 401, "unauthorized");
      expect(await runsOf(h.services.db, "summaries", forged.key)).toHaveLength(0);
      const real = envelope("summaries");
      expect((await send(delivery(base, "summaries", real, keys.current))).status).toBe(200);
    } finally {
      if (before === undefined) delete process.env.QSTASH_DEV;
      else process.env.QSTASH_DEV = before;
    }
  });
});
