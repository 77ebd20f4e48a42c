// WhatsApp delivery through the deliveries job: an agent message on a WhatsApp conversation is
// published after its commit and sent through the Graph API stand-in (real HTTP); Graph's errors
// map to delivery_error or the channel's status; outages keep it queued until a later attempt.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { deliveryAttempts, messages } from "../../schema";
import { createHarness, type Harness, type Tenant } from "../support/harness";
import { addChannel, messageByWamid, platformSecret, postWebhook, retarget, type TestChannel, waId, wamidOf } from "../whatsapp/helpers";
import * as meta from "../whatsapp/meta-samples";
import { channelRow, deliverJob, messageRow, settled } from "./helpers";

const h = await createHarness();
const graph = h.services.graph!;

async function customerWrites(h: Harness, t: Tenant, ch: TestChannel, msAgo = 60_000) {
  const sender = waId();
  const payload = retarget(meta.textMessage(String(Math.floor((Date.now() - msAgo) / 1000))), ch.phoneNumberId, sender);
  await postWebhook(h, payload, platformSecret(h));
  const m = await messageByWamid(h, t.workspaceId, wamidOf(payload));
  return { conversationId: m!.conversationId, sender };
}

const send = (t: Tenant, conversationId: string, body: Record<string, unknown>) => h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { sender_type: "agent", ...body } });

describe("WhatsApp delivery", () => {
  it("sends free text and templates after the commit and records the wamid", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId, sender } = await customerWrites(h, t, ch);
    const text = await send(t, conversationId, { content: "Yes, in blue." });
    const tpl = await send(t, conversationId, { template: { name: "order_update", language: "en_US", parameters: ["#4821"] } });
    expect([text.status, tpl.status]).toEqual([201, 201]);
    expect(text.body).toMatchObject({ status: "queued", delivery_status: "queued" });
    await settled(h, t.workspaceId);
    const sends = graph.sentFrom(ch.phoneNumberId);
    expect(sends.map((s) => s.body.type).sort()).toEqual(["template", "text"]);
    expect(sends.find((s) => s.body.type === "text")!.body).toMatchObject({ to: sender, text: { body: "Yes, in blue." } });
    expect(sends.find((s) => s.body.type === "template")!.body.template).toMatchObject({ name: "order_update", components: [{ type: "body", parameters: [{ type: "text", text: "#4821" }] }] });
    const row = await messageRow(h, text.body.id);
    expect(row).toMatchObject({ deliveryStatus: "sent", status: "sent", externalId: sends.find((s) => s.body.type === "text")!.wamid });
    // Redelivered and re-published: still one send each.
    await deliverJob(h, { workspace_id: t.workspaceId, message_id: text.body.id }, `delivery:${text.body.id}`);
    await deliverJob(h, { workspace_id: t.workspaceId, message_id: text.body.id });
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(2);
    const api = await h.call("GET", `/v1/conversations/${conversationId}/messages`, { token: t.token });
    expect(api.body.data.find((m: { id: string }) => m.id === text.body.id)).toMatchObject({ delivery_status: "sent", delivery_error: null });
  });

  it("Graph 131047 fails it as outside_messaging_window; 190 fails it and puts the channel in error", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    graph.failNext({ status: 400, code: 131047, message: "Re-engagement message" });
    const late = await send(t, conversationId, { content: "too late" });
    await settled(h, t.workspaceId);
    const failed = await h.call("GET", `/v1/conversations/${conversationId}/messages`, { token: t.token });
    expect(failed.body.data.find((m: { id: string }) => m.id === late.body.id)).toMatchObject({ delivery_status: "failed", delivery_error: { code: "outside_messaging_window" } });
    expect((await channelRow(h, ch.id)).status).toBe("active");

    graph.expireToken(ch.accessToken);
    const m = await send(t, conversationId, { content: "token?" });
    await settled(h, t.workspaceId);
    expect((await messageRow(h, m.body.id)).deliveryError).toMatchObject({ code: "channel_unauthorized" });
    expect((await channelRow(h, ch.id)).status).toBe("error");
  });

  it("a Graph outage keeps it queued (the job answers 503) until a later attempt sends it", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId, senderType: "agent", content: "hold on", source: "api", status: "queued", deliveryStatus: "queued" });
    graph.failNext({ status: 503 }, { status: 400, code: 130429 });
    const payload = { workspace_id: t.workspaceId, message_id: id };
    expect((await deliverJob(h, payload, `delivery:${id}`, 0)).status).toBe(503);
    expect((await deliverJob(h, payload, `delivery:${id}`, 1)).status).toBe(503);
    expect((await messageRow(h, id)).deliveryStatus).toBe("queued");
    expect((await deliverJob(h, payload, `delivery:${id}`, 2)).status).toBe(200);
    expect((await messageRow(h, id)).deliveryStatus).toBe("sent");
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(1);
  });

  it("an attempt that stopped after calling Graph is not repeated: the message fails as delivery_unconfirmed", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId, senderType: "agent", content: "maybe sent", source: "api", status: "queued", deliveryStatus: "queued" });
    // A lease left behind by a stopped attempt, already run out.
    await h.services.db.insert(deliveryAttempts).values({ targetId: id, workspaceId: t.workspaceId, attempts: 1, attemptId: "crashed", claimedUntil: sql`now() - interval '1 second'` });
    const r = await deliverJob(h, { workspace_id: t.workspaceId, message_id: id });
    expect(r.status).toBe(200);
    expect((await messageRow(h, id)).deliveryError).toMatchObject({ code: "delivery_unconfirmed" });
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(0);
    const [lease] = await h.services.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.targetId, id));
    expect(lease).toMatchObject({ attempts: 2, claimedUntil: null });
  });

  it("a conversation deleted while its message waits for a retry takes the message with it: the job answers 200, Graph gets nothing", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId, senderType: "agent", content: "too late now", source: "api", status: "queued", deliveryStatus: "queued" });
    graph.failNext({ status: 503 });
    const payload = { workspace_id: t.workspaceId, message_id: id };
    expect((await deliverJob(h, payload, `delivery:${id}`, 0)).status).toBe(503);
    expect((await h.call("DELETE", `/v1/conversations/${conversationId}`, { token: t.token })).status).toBe(200);
    const retry = await deliverJob(h, payload, `delivery:${id}`, 1);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: "completed", duplicate: false });
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(0);
  });

  it("a job naming another workspace's message does nothing", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId, senderType: "agent", content: "mine", source: "api", status: "queued", deliveryStatus: "queued" });
    const r = await deliverJob(h, { workspace_id: other.workspaceId, message_id: id });
    expect(r.status).toBe(200);
    expect((await messageRow(h, id)).deliveryStatus).toBe("queued");
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(0);
  });
});
