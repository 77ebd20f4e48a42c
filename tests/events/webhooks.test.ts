// Outbound webhooks: CRUD, Standard Webhooks signatures (verified with the `standardwebhooks`
// package), retries with backoff, the disable rule, redelivery, test pings, rotation.
import { eq, sql } from "drizzle-orm";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { Webhook, WebhookDelivery, WebhookWithSecret } from "../../functions/admin/webhooks.schemas";
import { listOf } from "../../lib/openapi";
import { webhooks } from "../../schema";
import { createHarness, expectError, type Tenant } from "../support/harness";
import { type Received, settle, startReceiver } from "./helpers";

const h = await createHarness();
const rcv = await startReceiver();
let n = 0;

async function endpoint(t: Tenant, events: string[] = ["conversation.created"], extra: Record<string, unknown> = {}) {
  const path = `/hook${++n}`;
  const r = await h.call("POST", "/v1/webhooks", { token: t.token, body: { url: `${rcv.url}${path}`, events, description: "test", ...extra } });
  expect(r.status, r.text).toBe(201);
  WebhookWithSecret.parse(r.body);
  return { ...(r.body as { id: string; secret: string }), path };
}

const verify = (secret: string, got: Received) =>
  new StandardWebhook(secret).verify(got.body, {
    "webhook-id": String(got.headers["webhook-id"]),
    "webhook-timestamp": String(got.headers["webhook-timestamp"]),
    "webhook-signature": String(got.headers["webhook-signature"]),
  }) as { type: string; timestamp: string; data: Record<string, any> };

const conversation = async (t: Tenant, title = "Refund please") => {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title, source: "api" } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string };
};

describe("webhooks", () => {
  it("creates an endpoint with a whsec_ secret shown once, lists, gets, updates and deletes it", async () => {
    const t = await h.signUp();
    const w = await endpoint(t, ["conversation.created", "message.created"]);
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(w.secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    const got = await h.call("GET", `/v1/webhooks/${w.id}`, { token: t.token });
    expect(got.status).toBe(200);
    Webhook.parse(got.body);
    expect(got.body).not.toHaveProperty("secret");
    expect(got.text).not.toContain(w.secret.slice(6));
    const list = await h.call("GET", "/v1/webhooks", { token: t.token });
    listOf(Webhook).parse(list.body);
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([w.id]);
    expect(list.text).not.toContain(w.secret.slice(6));

    const patched = await h.call("PATCH", `/v1/webhooks/${w.id}`, { token: t.token, body: { events: ["conversation.status_changed"], description: null, active: false } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ events: ["conversation.status_changed"], description: null, active: false, status: "inactive" });

    const del = await h.call("DELETE", `/v1/webhooks/${w.id}`, { token: t.token });
    expect(del.body).toEqual({ deleted: true, id: w.id });
    expectError(await h.call("GET", `/v1/webhooks/${w.id}`, { token: t.token }), 404, "not_found");
  });

  it("refuses invalid bodies with 422 and the fields", async () => {
    const t = await h.signUp();
    for (const [body, field] of [
      [{ events: ["conversation.created"] }, "url"],
      [{ url: `${rcv.url}/x`, events: [] }, "events"],
      [{ url: `${rcv.url}/x`, events: ["conversation.exploded"] }, "events.0"],
      [{ url: `${rcv.url}/x`, events: ["message.created", "message.created"] }, "events"],
      [{ url: "not a url", events: ["message.created"] }, "url"],
      [{ url: "ftp://files.example.com/x", events: ["message.created"] }, "url"],
      [{ url: `${rcv.url}/x`, events: ["message.created"], active: "yes" }, "active"],
    ] as const) {
      const e = expectError(await h.call("POST", "/v1/webhooks", { token: t.token, body }), 422, "validation_error");
      expect(Object.keys(e.details.fields), JSON.stringify(body)).toContain(field);
    }
    expectError(await h.call("POST", "/v1/webhooks", { token: t.token, raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });

  it("delivers a committed event once, signed per Standard Webhooks, and logs it", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    const got = rcv.on(w.path);
    expect(got).toHaveLength(1);
    const msg = verify(w.secret, got[0]!);
    expect(msg.type).toBe("conversation.created");
    expect(msg.data.conversation).toMatchObject({ id: c.id, title: "Refund please", source: "api" });
    expect(String(got[0]!.headers["webhook-id"])).toMatch(/^whd_/);
    // A wrong secret does not verify.
    expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString("base64")}`, got[0]!)).toThrow();

    const log = await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token });
    expect(log.status, log.text).toBe(200);
    listOf(WebhookDelivery).parse(log.body);
    expect(log.body.data).toHaveLength(1);
    expect(log.body.data[0]).toMatchObject({ id: got[0]!.headers["webhook-id"], status: "succeeded", attempt_count: 1, response_status: 200, event_type: "conversation.created" });
    expect(log.body.data[0].latency_ms).toBeGreaterThanOrEqual(0);
    // Events it did not subscribe to are not sent.
    await h.call("PATCH", `/v1/conversations/${c.id}`, { token: t.token, body: { status: "resolved" } });
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(1);
  });

  it("retries a failed delivery with backoff, with the same webhook-id, until it succeeds", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    rcv.plan(w.path, 500, 503);
    await conversation(t);
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(1);
    let log = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(log).toMatchObject({ status: "retrying", attempt_count: 1, response_status: 500 });
    const firstWait = Date.parse(log.next_attempt_at) - Date.parse(log.last_attempt_at);
    expect(firstWait).toBe(30_000);

    h.services.qstash!.advance(31_000);
    await settle(h, t.workspaceId);
    log = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(log).toMatchObject({ status: "retrying", attempt_count: 2, response_status: 503 });
    expect(Date.parse(log.next_attempt_at) - Date.parse(log.last_attempt_at)).toBe(120_000);

    h.services.qstash!.advance(121_000);
    await settle(h, t.workspaceId);
    const got = rcv.on(w.path);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((g) => g.headers["webhook-id"])).size).toBe(1);
    for (const g of got) expect(verify(w.secret, g).type).toBe("conversation.created");
    log = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(log).toMatchObject({ status: "succeeded", attempt_count: 3, response_status: 200, next_attempt_at: null });
    expect(log.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 503, 200]);
    const wh = (await h.call("GET", `/v1/webhooks/${w.id}`, { token: t.token })).body;
    expect(wh).toMatchObject({ failure_count: 0, status: "active" });
  });

  it("gives up after the last attempt, and disables an endpoint after sustained failure", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    // Nine failed attempts in a row, the first 25 hours ago: the tenth failure disables it.
    await h.services.db
      .update(webhooks)
      .set({ consecutiveFailures: 9, failingSince: sql`now() - interval '25 hours'` })
      .where(eq(webhooks.id, w.id));
    rcv.plan(w.path, 500);
    await conversation(t);
    await settle(h, t.workspaceId);
    const wh = (await h.call("GET", `/v1/webhooks/${w.id}`, { token: t.token })).body;
    expect(wh).toMatchObject({ status: "disabled", active: false, disabled_reason: "failing", failure_count: 10 });
    const log = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(log).toMatchObject({ status: "failed", attempt_count: 1, next_attempt_at: null });
    // Nothing more goes to a disabled endpoint.
    await conversation(t);
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(1);
    // Turning it back on resets the streak.
    const on = await h.call("PATCH", `/v1/webhooks/${w.id}`, { token: t.token, body: { active: true } });
    expect(on.body).toMatchObject({ status: "active", failure_count: 0, disabled_reason: null });
  });

  it("does not disable a failing endpoint before the failures span the rule's hours", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    await h.services.db
      .update(webhooks)
      .set({ consecutiveFailures: 30, failingSince: sql`now() - interval '2 hours'` })
      .where(eq(webhooks.id, w.id));
    rcv.plan(w.path, 500);
    await conversation(t);
    await settle(h, t.workspaceId);
    const wh = (await h.call("GET", `/v1/webhooks/${w.id}`, { token: t.token })).body;
    expect(wh).toMatchObject({ status: "active", failure_count: 31 });
  });

  it("a delivery that exhausts its attempts ends failed", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    rcv.plan(w.path, 500, 500, 500, 500, 500, 500);
    await conversation(t);
    await settle(h, t.workspaceId);
    for (const wait of [30, 120, 600, 3600, 21600]) {
      h.services.qstash!.advance((wait + 1) * 1000);
      await settle(h, t.workspaceId);
    }
    expect(rcv.on(w.path)).toHaveLength(6);
    const log = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(log).toMatchObject({ status: "failed", attempt_count: 6, next_attempt_at: null });
  });

  it("redelivers a delivery with the same webhook-id, and sends a signed test ping", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    await h.services.db.update(webhooks).set({ consecutiveFailures: 0 }).where(eq(webhooks.id, w.id));
    rcv.plan(w.path, 404);
    await conversation(t);
    await settle(h, t.workspaceId);
    const first = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: t.token })).body.data[0];
    expect(first).toMatchObject({ status: "retrying", response_status: 404 });
    const again = await h.call("POST", `/v1/webhooks/${w.id}/deliveries/${first.id}/redeliver`, { token: t.token });
    expect(again.status, again.text).toBe(200);
    WebhookDelivery.parse(again.body);
    expect(again.body).toMatchObject({ id: first.id, status: "succeeded", attempt_count: 2, response_status: 200 });
    expect(again.body.attempts.at(-1)).toMatchObject({ manual: true, status_code: 200 });
    const got = rcv.on(w.path);
    expect(got.map((g) => g.headers["webhook-id"])).toEqual([first.id, first.id]);
    // The pending automatic retry finds the delivery done and sends nothing.
    h.services.qstash!.advance(31_000);
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(2);

    const ping = await h.call("POST", `/v1/webhooks/${w.id}/test`, { token: t.token });
    expect(ping.status, ping.text).toBe(200);
    expect(ping.body).toMatchObject({ event_type: "webhook.test", event_id: null, status: "succeeded", response_status: 200 });
    const msg = verify(w.secret, rcv.on(w.path).at(-1)!);
    expect(msg).toMatchObject({ type: "webhook.test", data: { webhook_id: w.id } });
    expectError(await h.call("POST", `/v1/webhooks/${w.id}/deliveries/whd_nope/redeliver`, { token: t.token }), 404, "not_found");
    await h.call("PATCH", `/v1/webhooks/${w.id}`, { token: t.token, body: { active: false } });
    expectError(await h.call("POST", `/v1/webhooks/${w.id}/deliveries/${first.id}/redeliver`, { token: t.token }), 409, "conflict");
  });

  it("rotates the secret: the new one verifies, and the old one still does during the overlap", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    const r = await h.call("POST", `/v1/webhooks/${w.id}/rotate-secret`, { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body.secret).toMatch(/^whsec_/);
    expect(r.body.secret).not.toBe(w.secret);
    await h.call("POST", `/v1/webhooks/${w.id}/test`, { token: t.token });
    const got = rcv.on(w.path).at(-1)!;
    expect(String(got.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verify(r.body.secret, got).type).toBe("webhook.test");
    expect(verify(w.secret, got).type).toBe("webhook.test");
  });

  it("does not follow redirects and bounds what it reads", async () => {
    const t = await h.signUp();
    const w = await endpoint(t);
    rcv.plan(w.path, { redirect: `${rcv.url}/elsewhere` });
    const r = await h.call("POST", `/v1/webhooks/${w.id}/test`, { token: t.token });
    expect(r.body).toMatchObject({ status: "failed", response_status: 302, error: "redirects are not followed" });
    expect(rcv.on("/elsewhere")).toHaveLength(0);
    rcv.plan(w.path, { big: 5_000_000 });
    const big = await h.call("POST", `/v1/webhooks/${w.id}/test`, { token: t.token });
    expect(big.body.status).toBe("succeeded");
    expect(big.body.response_body.length).toBeLessThanOrEqual(1024);
  });
});

describe("webhooks: security", () => {
  it("needs credentials and the admin role", async () => {
    for (const [method, path] of [
      ["GET", "/v1/webhooks"],
      ["POST", "/v1/webhooks"],
      ["GET", "/v1/webhooks/wh_x"],
      ["PATCH", "/v1/webhooks/wh_x"],
      ["DELETE", "/v1/webhooks/wh_x"],
      ["POST", "/v1/webhooks/wh_x/rotate-secret"],
      ["GET", "/v1/webhooks/wh_x/deliveries"],
      ["POST", "/v1/webhooks/wh_x/deliveries/whd_x/redeliver"],
      ["POST", "/v1/webhooks/wh_x/test"],
    ] as const) {
      expectError(await h.call(method, path, { body: method === "POST" || method === "PATCH" ? {} : undefined }), 401, "unauthorized");
    }
    const t = await h.signUp();
    const { agentToken } = await import("../support/tenancy");
    const agent = await agentToken(h, t, "agent");
    expectError(await h.call("GET", "/v1/webhooks", { token: agent.token }), 403, "forbidden");
    expectError(await h.call("POST", "/v1/webhooks", { token: agent.token, body: { url: `${rcv.url}/x`, events: ["message.created"] } }), 403, "forbidden");
  });

  it("another workspace's endpoints and deliveries are 404 and absent from lists", async () => {
    const { expectInvisible } = await import("../support/tenancy");
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const w = await endpoint(theirs);
    await conversation(theirs);
    await settle(h, theirs.workspaceId);
    const d = (await h.call("GET", `/v1/webhooks/${w.id}/deliveries`, { token: theirs.token })).body.data[0];
    await endpoint(mine);
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/webhooks/${w.id}` },
      { method: "PATCH", path: `/v1/webhooks/${w.id}`, body: { active: false } },
      { method: "DELETE", path: `/v1/webhooks/${w.id}` },
      { method: "POST", path: `/v1/webhooks/${w.id}/rotate-secret` },
      { method: "GET", path: `/v1/webhooks/${w.id}/deliveries` },
      { method: "POST", path: `/v1/webhooks/${w.id}/deliveries/${d.id}/redeliver` },
      { method: "POST", path: `/v1/webhooks/${w.id}/test` },
      { list: "/v1/webhooks", absent: w.id },
    ]);
    // Their events never reach my endpoint.
    expect((await h.call("GET", "/v1/webhooks", { token: theirs.token })).body.data[0].active).toBe(true);
  });
});
