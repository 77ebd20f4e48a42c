// Outbound WhatsApp: the 24-hour window and templates at POST /v1/conversations/{id}/messages,
// the Graph send (against the local Graph stand-in, over HTTP) and what each Graph answer does,
// and status webhooks moving the message forward only.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../lib/services";
import { channels, messages } from "../../schema";
import { deliverWhatsApp } from "../../lib/delivery/whatsapp";
import { createHarness, expectError, type Harness, type Tenant } from "../support/harness";
import { addChannel, messageByWamid, platformSecret, postWebhook, retarget, type TestChannel, waId, wamidOf } from "./helpers";
import * as meta from "./meta-samples";

let h: Harness;
let a: Tenant;
let services: Services;

beforeAll(async () => {
  h = await createHarness();
  a = await h.signUp();
  services = h.services.provider({ env: {}, waitUntil: () => {}, defer: () => {} });
  // This file drives the WhatsApp sender by hand: the deliveries jobs that sending a message
  // publishes are acknowledged without running (tests/delivery covers the job itself).
  h.services.qstash!.deliverVia((req) => (new URL(req.url).pathname === "/jobs/deliveries" ? Promise.resolve(new Response("{}", { status: 200 })) : h.dispatch(req)));
});

const ts = (msAgo: number) => String(Math.floor((Date.now() - msAgo) / 1000));
const HOUR = 3600_000;

/** A customer writes on `ch` `msAgo` ago: returns their conversation id. */
async function customerWrites(ch: TestChannel, msAgo: number, sender = waId()) {
  const payload = retarget(meta.textMessage(ts(msAgo)), ch.phoneNumberId, sender);
  const r = await postWebhook(h, payload, platformSecret(h));
  expect(r.body).toMatchObject({ messages: 1 });
  const m = await messageByWamid(h, a.workspaceId, wamidOf(payload));
  return { conversationId: m!.conversationId, sender };
}

/** Runs the WhatsApp delivery of message `id` as the deliveries job does. */
const deliver = (id: string) => deliverWhatsApp(services, a.workspaceId, id);

const row = async (id: string) => (await h.services.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("the 24-hour customer-service window", () => {
  it("agent free text inside the window is stored queued", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, 23 * HOUR);
    const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Yes, in blue and red.", sender_type: "agent" } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.status).toBe("queued");
  });

  it("outside the window (or with no customer message at all) free text is 409 outside_messaging_window and nothing is stored", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, 25 * HOUR);
    const before = await h.call("GET", `/v1/conversations/${conversationId}`, { token: a.token });
    const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Still there?", sender_type: "agent" } });
    const err = expectError(r, 409, "conflict");
    expect(err.details).toMatchObject({ reason: "outside_messaging_window" });
    expect(new Date(err.details.window_closed_at).getTime() - new Date(err.details.last_customer_message_at).getTime()).toBe(24 * HOUR);
    const after = await h.call("GET", `/v1/conversations/${conversationId}`, { token: a.token });
    expect(after.body.message_count).toBe(before.body.message_count);

    // A WhatsApp conversation started by the API, before the customer ever wrote.
    const conv = await h.call("POST", "/v1/conversations", { token: a.token, body: { title: "Outreach", source: "whatsapp", channel_id: ch.id } });
    expect(conv.status).toBe(201);
    const none = expectError(await h.call("POST", `/v1/conversations/${conv.body.id}/messages`, { token: a.token, body: { content: "Hello!", sender_type: "agent" } }), 409, "conflict");
    expect(none.details).toMatchObject({ reason: "outside_messaging_window", last_customer_message_at: null });

    // Notes are never delivered: the window does not apply.
    const note = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Call them instead", sender_type: "note" } });
    expect(note.status).toBe(201);
  });

  it("a newer customer message in another conversation on the same number opens the window", async () => {
    const ch = await addChannel(h, a);
    const { conversationId, sender } = await customerWrites(ch, 30 * HOUR);
    await h.call("POST", `/v1/conversations/${conversationId}/status`, { token: a.token, body: { status: "closed" } });
    const fresh = await customerWrites(ch, HOUR, sender);
    expect(fresh.conversationId).not.toBe(conversationId);
    const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Following up on the older thread", sender_type: "agent" } });
    expect(r.status, r.text).toBe(201);
  });

  it("a template may be sent outside the window; it is stored readable with the template in metadata", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, 72 * HOUR);
    const body = { sender_type: "agent", template: { name: "order_update", language: "en_US", parameters: ["#4821", "Thursday"] } };
    const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ content: "[template order_update (en_US)] #4821 · Thursday", status: "queued", metadata: { whatsapp: { template: body.template } } });
  });

  it("refuses templates where they make no sense (422 naming the field)", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    const email = await h.call("POST", "/v1/conversations", { token: a.token, body: { title: "Mail", source: "email" } });
    const t = { name: "order_update", language: "en_US" };
    const cases: Array<[string, unknown, string]> = [
      [email.body.id, { sender_type: "agent", template: t }, "template"],
      [conversationId, { sender_type: "agent", template: t, content: "both" }, "template"],
      [conversationId, { sender_type: "note", template: t }, "template"],
      [conversationId, { sender_type: "agent" }, "content"],
      [conversationId, { sender_type: "agent", template: { name: "Order Update!", language: "english" } }, "template.name"],
      [conversationId, { sender_type: "agent", template: { name: "x", language: "en_US", parameters: [""] } }, "template.parameters.0"],
    ];
    for (const [id, b, field] of cases) {
      const err = expectError(await h.call("POST", `/v1/conversations/${id}/messages`, { token: a.token, body: b }), 422, "validation_error");
      expect(Object.keys(err.details.fields), JSON.stringify(b)).toContain(field);
    }
  });
});

describe("sending through Graph", () => {
  it("sends free text with the channel's token and records the wamid; statuses then move it forward, never back", async () => {
    const ch = await addChannel(h, a);
    const { conversationId, sender } = await customerWrites(ch, HOUR);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Yes, in blue and red.", sender_type: "agent" } });
    const result = await deliver(sent.body.id);
    expect(result).toMatchObject({ outcome: "sent" });

    const graph = h.services.graph!;
    const [send] = graph.sentFrom(ch.phoneNumberId);
    expect(send).toMatchObject({ token: ch.accessToken, version: "v21.0", body: { messaging_product: "whatsapp", to: sender, type: "text", text: { body: "Yes, in blue and red." } } });
    let m = await row(sent.body.id);
    expect(m).toMatchObject({ deliveryStatus: "sent", externalId: send!.wamid, deliveryError: null });

    // A redelivered job does not send twice.
    expect(await deliver(sent.body.id)).toMatchObject({ outcome: "skipped" });
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(1);

    // Meta's status samples for this wamid, in and out of order.
    expect((await postWebhook(h, retarget(meta.statusDelivered(send!.wamid), ch.phoneNumberId), platformSecret(h))).body).toMatchObject({ statuses: 1 });
    expect((await row(sent.body.id)).deliveryStatus).toBe("delivered");
    expect((await postWebhook(h, retarget(meta.statusSent(send!.wamid), ch.phoneNumberId), platformSecret(h))).body).toMatchObject({ statuses: 0, ignored: 1 });
    expect((await row(sent.body.id)).deliveryStatus).toBe("delivered");
    expect((await postWebhook(h, retarget(meta.statusRead(send!.wamid), ch.phoneNumberId), platformSecret(h))).body).toMatchObject({ statuses: 1 });
    // read after delivered stays read, whatever comes late
    await postWebhook(h, retarget(meta.statusDelivered(send!.wamid), ch.phoneNumberId), platformSecret(h));
    await postWebhook(h, retarget(meta.statusFailed(send!.wamid), ch.phoneNumberId), platformSecret(h));
    m = await row(sent.body.id);
    expect(m).toMatchObject({ deliveryStatus: "read", deliveryError: null });

    // The stand-in's own signed status webhook goes the same way.
    const r = await graph.emitStatus(send!.wamid, "delivered");
    expect(r.status).toBe(200);
    expect((await row(sent.body.id)).deliveryStatus).toBe("read");
  });

  it("a failed status carries Meta's error into delivery_error", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "Your order shipped", sender_type: "agent" } });
    await deliver(sent.body.id);
    const m = await row(sent.body.id);
    const r = await postWebhook(h, retarget(meta.statusFailed(m.externalId!, 131047, "Re-engagement message"), ch.phoneNumberId), platformSecret(h));
    expect(r.body).toMatchObject({ statuses: 1 });
    const failed = await row(sent.body.id);
    expect(failed.deliveryStatus).toBe("failed");
    expect(failed.deliveryError).toMatchObject({ code: "outside_messaging_window" });
    expect(failed.deliveryError!.message).toContain("131047");
  });

  it("a template goes to Graph as a template with its body parameters", async () => {
    const ch = await addChannel(h, a);
    const { conversationId, sender } = await customerWrites(ch, 48 * HOUR);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, {
      token: a.token,
      body: { sender_type: "agent", template: { name: "order_update", language: "en_US", parameters: ["#4821", "Thursday"] } },
    });
    expect(await deliver(sent.body.id)).toMatchObject({ outcome: "sent" });
    const [send] = h.services.graph!.sentFrom(ch.phoneNumberId);
    expect(send!.body).toEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: sender,
      type: "template",
      template: {
        name: "order_update",
        language: { code: "en_US" },
        components: [{ type: "body", parameters: [{ type: "text", text: "#4821" }, { type: "text", text: "Thursday" }] }],
      },
    });
  });

  it("Graph 131047 and 131026 fail the message with delivery_error; the channel stays active", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    const graph = h.services.graph!;
    for (const [code, expected, message] of [
      [131047, "outside_messaging_window", "Re-engagement message"],
      [131026, "undeliverable", "Message Undeliverable."],
    ] as const) {
      const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: `try ${code}`, sender_type: "agent" } });
      graph.failNext({ status: 400, code, message });
      expect(await deliver(sent.body.id)).toMatchObject({ outcome: "failed", code: expected, graph_code: code });
      const m = await row(sent.body.id);
      expect(m.deliveryStatus).toBe("failed");
      expect(m.deliveryError).toMatchObject({ code: expected });
      expect(m.deliveryError!.message).toContain(String(code));
      expect(m.externalId).toBeNull();
    }
    const [c] = await h.services.db.select().from(channels).where(eq(channels.id, ch.id));
    expect(c).toMatchObject({ status: "active", statusReason: null });
  });

  it("Graph 190 (expired token) fails the message and puts the channel in error with a reason", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    h.services.graph!.expireToken(ch.accessToken);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "hello?", sender_type: "agent" } });
    expect(await deliver(sent.body.id)).toMatchObject({ outcome: "failed", code: "channel_unauthorized", channel_status: "error" });
    expect((await row(sent.body.id)).deliveryError).toMatchObject({ code: "channel_unauthorized" });
    const [c] = await h.services.db.select().from(channels).where(eq(channels.id, ch.id));
    expect(c!.status).toBe("error");
    expect(c!.statusReason).toMatch(/access token.*190/i);
  });

  it("Graph 5xx, 429, rate limits and an unreachable Graph leave the message queued and throw (QStash retries)", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    const graph = h.services.graph!;
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "retry me", sender_type: "agent" } });
    graph.failNext({ status: 500 }, { status: 503 }, { status: 429, code: 4 }, { status: 400, code: 130429 });
    for (let i = 0; i < 4; i++) {
      await expect(deliver(sent.body.id)).rejects.toMatchObject({ name: "DependencyError" });
      expect((await row(sent.body.id)).deliveryStatus).toBe("queued");
    }
    // Graph itself unreachable (a closed port).
    const down = { ...services, config: { ...services.config, whatsapp: { ...services.config.whatsapp, graphUrl: "http://127.0.0.1:9" } } };
    await expect(deliverWhatsApp(down, a.workspaceId, sent.body.id)).rejects.toMatchObject({ name: "DependencyError" });
    // Then Graph is back: sent once.
    expect(await deliver(sent.body.id)).toMatchObject({ outcome: "sent" });
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(1);
  });

  it("a deleted channel fails the message instead of sending", async () => {
    const ch = await addChannel(h, a);
    const { conversationId } = await customerWrites(ch, HOUR);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "anyone?", sender_type: "agent" } });
    await h.services.db.delete(channels).where(and(eq(channels.id, ch.id), eq(channels.workspaceId, a.workspaceId)));
    expect(await deliver(sent.body.id)).toMatchObject({ outcome: "failed", code: "channel_missing" });
    expect(h.services.graph!.sentFrom(ch.phoneNumberId)).toHaveLength(0);
  });

  it("statuses for another workspace's wamid move nothing (tenancy)", async () => {
    const b = await h.signUp();
    const chA = await addChannel(h, a);
    const chB = await addChannel(h, b);
    const { conversationId } = await customerWrites(chA, HOUR);
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: a.token, body: { content: "private", sender_type: "agent" } });
    await deliver(sent.body.id);
    const wamid = (await row(sent.body.id)).externalId!;
    // B's channel reports A's wamid as read: A's message does not move.
    const r = await postWebhook(h, retarget(meta.statusRead(wamid), chB.phoneNumberId), platformSecret(h));
    expect(r.body).toMatchObject({ statuses: 0 });
    expect((await row(sent.body.id)).deliveryStatus).toBe("sent");
    // B cannot read A's message.
    expectError(await h.call("GET", `/v1/conversations/${conversationId}/messages`, { token: b.token }), 404, "not_found");
  });
});
