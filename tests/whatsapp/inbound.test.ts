// /inbound/whatsapp: Meta's handshake, signature checks, every documented message type, dedupe,
// reopening, unknown numbers and tenancy.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "../../lib/whatsapp";
import { contacts, conversations, events, messages } from "../../schema";
import { createHarness, expectError, type Harness, type Tenant } from "../support/harness";
import { addChannel, wamidOf, messageByWamid, platformSecret, postWebhook, retarget, waId } from "./helpers";
import * as meta from "./meta-samples";

let h: Harness;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  h = await createHarness();
  [a, b] = await Promise.all([h.signUp(), h.signUp()]);
});

const nowTs = () => String(Math.floor(Date.now() / 1000));

describe("GET /inbound/whatsapp (verification)", () => {
  it("echoes hub.challenge as text/plain for the platform verify token", async () => {
    const token = h.services.config.whatsapp.verifyToken!;
    const r = await h.call("GET", `/inbound/whatsapp?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`);
    expect(r.status).toBe(200);
    expect(r.text).toBe("1158201444");
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("accepts a channel's own verify token", async () => {
    await addChannel(h, a, { verifyToken: "acme-verify-9f2c" });
    const r = await h.call("GET", "/inbound/whatsapp?hub.mode=subscribe&hub.verify_token=acme-verify-9f2c&hub.challenge=abc");
    expect(r.status).toBe(200);
    expect(r.text).toBe("abc");
  });

  it("refuses a wrong token, a wrong mode or missing parameters with 403", async () => {
    const token = encodeURIComponent(h.services.config.whatsapp.verifyToken!);
    for (const q of [
      "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
      `hub.mode=unsubscribe&hub.verify_token=${token}&hub.challenge=1`,
      `hub.mode=subscribe&hub.challenge=1`,
      `hub.mode=subscribe&hub.verify_token=${token}`,
      "hub.mode=subscribe&hub.verify_token=&hub.challenge=1",
      "",
    ]) {
      expectError(await h.call("GET", `/inbound/whatsapp?${q}`), 403, "forbidden");
    }
  });
});

describe("POST /inbound/whatsapp: signatures", () => {
  it("refuses a missing, malformed or forged signature with 401 and stores nothing", async () => {
    const ch = await addChannel(h, a);
    const payload = retarget(meta.textMessage(nowTs()), ch.phoneNumberId, waId());
    const body = JSON.stringify(payload);
    const wamid = wamidOf(payload);
    const forged = await signWebhook(body, "not-the-secret");
    const otherBody = await signWebhook(`${body} `, platformSecret(h));
    for (const signature of [undefined, "", "sha256=", "sha1=abcdef", "sha256=zz", forged, otherBody, forged.toUpperCase()]) {
      const r = signature === undefined ? await postWebhook(h, body, null) : await postWebhook(h, body, null, { signature });
      expectError(r, 401, "unauthorized");
    }
    expect(await messageByWamid(h, a.workspaceId, wamid)).toBeUndefined();
  });

  it("a channel with its own app secret accepts only that secret, not the platform's", async () => {
    const ch = await addChannel(h, a, { appSecret: "acme-own-app-secret" });
    const sender = waId();
    const payload = retarget(meta.textMessage(nowTs()), ch.phoneNumberId, sender);
    const wamid = wamidOf(payload);
    // Signed by the platform app: valid for Parley, but not for this channel: nothing stored.
    const viaPlatform = await postWebhook(h, payload, platformSecret(h));
    expect(viaPlatform.status).toBe(200);
    expect(viaPlatform.body).toMatchObject({ messages: 0, ignored: 1 });
    expect(await messageByWamid(h, a.workspaceId, wamid)).toBeUndefined();
    // A wrong secret altogether: 401.
    expectError(await postWebhook(h, payload, "wrong-app-secret"), 401, "unauthorized");
    // Its own secret: stored.
    const own = await postWebhook(h, payload, "acme-own-app-secret");
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ received: true, messages: 1 });
    expect(await messageByWamid(h, a.workspaceId, wamid)).toBeDefined();
  });

  it("malformed JSON: 400 when signed with the app secret, 401 when not", async () => {
    const raw = '{"object":"whatsapp_business_account","entry":[';
    expectError(await postWebhook(h, raw, platformSecret(h)), 400, "bad_request");
    expectError(await postWebhook(h, raw, "guess"), 401, "unauthorized");
    expectError(await postWebhook(h, '{"object":"page","entry":[]}', platformSecret(h)), 400, "bad_request");
    expectError(await postWebhook(h, "\xff\xfe", platformSecret(h)), 400, "bad_request");
  });

  it("odd but signed shapes never answer 500", async () => {
    const ch = await addChannel(h, a);
    const weird = [
      { object: "whatsapp_business_account", entry: [null, 1, "x", { changes: "no" }, { changes: [null, { value: null }, { value: { metadata: {} } }] }] },
      { object: "whatsapp_business_account", entry: [{ changes: [{ field: "messages", value: { metadata: { phone_number_id: ch.phoneNumberId }, messages: [null, {}, { id: 5 }, { id: "wamid.x", from: {} }], statuses: [null, { id: "wamid.y", status: "bogus" }], contacts: "nobody" } }] }] },
      { object: "whatsapp_business_account", entry: [{ changes: [{ field: "messages", value: { metadata: { phone_number_id: ch.phoneNumberId }, messages: [{ id: "wamid.weird1", from: "16505550000", timestamp: "99999999999", type: "image", image: "not-an-object" }] } }] }] },
    ];
    for (const p of weird) {
      const r = await postWebhook(h, p, platformSecret(h));
      expect(r.status, r.text).toBe(200);
    }
    // The future timestamp is clamped to now; the image without details is still a message.
    const stored = await messageByWamid(h, a.workspaceId, "wamid.weird1");
    expect(stored?.content).toBe("[image]");
    expect(stored!.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe("POST /inbound/whatsapp: messages", () => {
  it("Meta's text sample creates the contact (profile name, +wa_id) and a whatsapp conversation on the channel", async () => {
    const ch = await addChannel(h, a);
    const sender = waId();
    const payload = retarget(meta.textMessage(nowTs()), ch.phoneNumberId, sender);
    const r = await postWebhook(h, payload, platformSecret(h));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ received: true, messages: 1, duplicates: 0, statuses: 0, ignored: 0 });

    const wamid = wamidOf(payload);
    const msg = await messageByWamid(h, a.workspaceId, wamid);
    expect(msg).toMatchObject({ senderType: "contact", content: "Does it come in another color?", source: "whatsapp", deliveryStatus: null });
    const [ct] = await h.services.db.select().from(contacts).where(eq(contacts.id, msg!.senderId!));
    expect(ct).toMatchObject({ workspaceId: a.workspaceId, name: "Sheena Nelson", phone: `+${sender}` });

    // Through the public API: the conversation, its source, channel and the message.
    const conv = await h.call("GET", `/v1/conversations/${msg!.conversationId}`, { token: a.token });
    expect(conv.status).toBe(200);
    expect(conv.body).toMatchObject({ source: "whatsapp", channel_id: ch.id, contact_id: ct!.id, status: "open", message_count: 1, unread_count: 1 });
    const list = await h.call("GET", `/v1/conversations/${msg!.conversationId}/messages`, { token: a.token });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ content: "Does it come in another color?", external_id: wamid, sender_type: "contact" });

    const evts = await h.services.db.select().from(events).where(and(eq(events.workspaceId, a.workspaceId), eq(events.entityId, msg!.id)));
    expect(evts.map((e) => e.type)).toEqual(["message.created"]);
  });

  it("stores every documented message type with a readable content and its details in metadata.whatsapp", async () => {
    const ch = await addChannel(h, a);
    const sender = waId();
    const cases: Array<[unknown, string, Record<string, unknown>]> = [
      [meta.imageMessage(), "[image] Is this the blue one?", { type: "image", media: { id: "1003383421387256", mime_type: "image/jpeg", sha256: "nZ8QTdWfv1kYkuBi0WMUJ2y3r8fAbN6HJjpmUudhy7o=", caption: "Is this the blue one?" } }],
      [meta.documentMessage(), "[document: invoice-1234.pdf] Invoice for order 1234", { type: "document", media: { id: "1252395586123456", filename: "invoice-1234.pdf", mime_type: "application/pdf" } }],
      [meta.audioMessage(), "[audio]", { type: "audio", media: { id: "2041329259633112", mime_type: "audio/ogg; codecs=opus", voice: true } }],
      [meta.stickerMessage(), "[sticker]", { type: "sticker", media: { id: "1233817278142853", mime_type: "image/webp" } }],
      [meta.locationMessage(), "[location] Philz Coffee, 1 Hacker Way, Menlo Park, CA 94025 (37.483872222222, -122.14870833333)", { type: "location", location: { latitude: 37.483872222222, longitude: -122.14870833333, name: "Philz Coffee" } }],
      [meta.buttonReply(), "Cancel", { type: "interactive", interactive: { type: "button_reply", id: "cancel-button", title: "Cancel" }, context: { id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBIyRUQ5QzEzQjk4QjEzNzBCQjEA" } }],
      [meta.listReply(), "Express Shipping", { type: "interactive", interactive: { type: "list_reply", id: "priority_express", title: "Express Shipping", description: "Next Day to 2 Days" } }],
      [meta.templateButton(), "Unsubscribe from Promos", { type: "button", button: { payload: "Unsubscribe from Promos", text: "Unsubscribe from Promos" } }],
      [meta.reaction(), "[reaction] \uD83D\uDE00", { type: "reaction", reaction: { message_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", emoji: "\uD83D\uDE00" } }],
    ];
    const convs = new Set<string>();
    for (const [sample, content, details] of cases) {
      const payload = retarget(sample, ch.phoneNumberId, sender) as ReturnType<typeof meta.textMessage>;
      const r = await postWebhook(h, payload, platformSecret(h));
      expect(r.body, JSON.stringify(details)).toMatchObject({ messages: 1 });
      const wamid = wamidOf(payload);
      const row = await messageByWamid(h, a.workspaceId, wamid);
      expect(row?.content).toBe(content);
      expect(row?.metadata.whatsapp).toMatchObject({ ...details, wamid, from: sender, phone_number_id: ch.phoneNumberId });
      // Meta's time of sending, not ours.
      expect(row!.createdAt.toISOString()).toBe("2025-06-08T20:59:43.000Z");
      convs.add(row!.conversationId);
    }
    // All from one customer: one conversation.
    expect(convs.size).toBe(1);
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, [...convs][0]!));
    expect(conv!.messageCount).toBe(cases.length);
  });

  it("a redelivered webhook stores nothing twice (dedupe by wamid), also when deliveries race", async () => {
    const ch = await addChannel(h, a);
    const payload = retarget(meta.textMessage(nowTs()), ch.phoneNumberId, waId());
    const first = await postWebhook(h, payload, platformSecret(h));
    expect(first.body).toMatchObject({ messages: 1, duplicates: 0 });
    const again = await postWebhook(h, payload, platformSecret(h));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ messages: 0, duplicates: 1 });

    const racing = retarget(meta.imageMessage(nowTs()), ch.phoneNumberId, waId());
    const results = await Promise.all([1, 2, 3].map(() => postWebhook(h, racing, platformSecret(h))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.reduce((n, r) => n + r.body.messages, 0)).toBe(1);
    const wamid = wamidOf(racing);
    const rows = await h.services.db.select().from(messages).where(and(eq(messages.workspaceId, a.workspaceId), eq(messages.externalId, wamid)));
    expect(rows).toHaveLength(1);
    const cts = await h.services.db.select().from(contacts).where(and(eq(contacts.workspaceId, a.workspaceId), eq(contacts.id, rows[0]!.senderId!)));
    expect(cts).toHaveLength(1);
    const convs = await h.services.db.select().from(conversations).where(and(eq(conversations.workspaceId, a.workspaceId), eq(conversations.contactId, rows[0]!.senderId!)));
    expect(convs).toHaveLength(1);
    expect(convs[0]!.messageCount).toBe(1);
  });

  it("finds an existing contact by phone, reopens a resolved conversation, starts anew after closed", async () => {
    const ch = await addChannel(h, a);
    const sender = waId();
    const made = await h.call("POST", "/v1/contacts", { token: a.token, body: { name: "Known Customer", phone: `+${sender}` } });
    expect(made.status).toBe(201);

    const one = retarget(meta.textMessage(nowTs()), ch.phoneNumberId, sender);
    await postWebhook(h, one, platformSecret(h));
    const first = await messageByWamid(h, a.workspaceId, wamidOf(one));
    expect(first!.senderId).toBe(made.body.id);
    // The contact keeps the name the workspace gave it.
    const ct = await h.call("GET", `/v1/contacts/${made.body.id}`, { token: a.token });
    expect(ct.body.name).toBe("Known Customer");

    expect((await h.call("POST", `/v1/conversations/${first!.conversationId}/status`, { token: a.token, body: { status: "resolved" } })).status).toBe(200);
    const two = retarget(meta.imageMessage(nowTs()), ch.phoneNumberId, sender);
    await postWebhook(h, two, platformSecret(h));
    const second = await messageByWamid(h, a.workspaceId, wamidOf(two));
    expect(second!.conversationId).toBe(first!.conversationId);
    const reopened = await h.call("GET", `/v1/conversations/${first!.conversationId}`, { token: a.token });
    expect(reopened.body).toMatchObject({ status: "open", resolved_at: null, message_count: 2 });
    const changed = await h.services.db.select().from(events).where(and(eq(events.entityId, first!.conversationId), eq(events.type, "conversation.status_changed")));
    expect(changed.map((e) => e.data)).toContainEqual({ from: "resolved", to: "open", reason: "customer_replied" });

    expect((await h.call("POST", `/v1/conversations/${first!.conversationId}/status`, { token: a.token, body: { status: "closed" } })).status).toBe(200);
    const three = retarget(meta.locationMessage(nowTs()), ch.phoneNumberId, sender);
    await postWebhook(h, three, platformSecret(h));
    const third = await messageByWamid(h, a.workspaceId, wamidOf(three));
    expect(third!.conversationId).not.toBe(first!.conversationId);
    expect(third!.senderId).toBe(made.body.id);
  });

  it("an unknown phone_number_id is acknowledged with 200 and nothing is stored (Meta's dashboard test)", async () => {
    const before = await h.services.db.select({ id: messages.id }).from(messages).where(eq(messages.externalId, "ABGGFlA5Fpa"));
    const r = await postWebhook(h, meta.dashboardTestDelivery(), platformSecret(h));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ received: true, messages: 0, duplicates: 0, statuses: 0, ignored: 1 });
    const after = await h.services.db.select({ id: messages.id }).from(messages).where(eq(messages.externalId, "ABGGFlA5Fpa"));
    expect(after.length).toBe(before.length);
    // Unsigned, the same request is refused: an unknown number is no way around the signature.
    expectError(await postWebhook(h, meta.dashboardTestDelivery(), "guess"), 401, "unauthorized");
  });
});

describe("tenancy", () => {
  it("a channel of workspace A never receives B's traffic; B cannot see A's messages", async () => {
    const chA = await addChannel(h, a);
    const chB = await addChannel(h, b);
    const sender = waId();
    const toA = retarget(meta.textMessage(nowTs()), chA.phoneNumberId, sender);
    const toB = retarget(meta.imageMessage(nowTs()), chB.phoneNumberId, sender);
    await postWebhook(h, toA, platformSecret(h));
    await postWebhook(h, toB, platformSecret(h));
    const wA = wamidOf(toA);
    const wB = wamidOf(toB);
    const inA = await messageByWamid(h, a.workspaceId, wA);
    const inB = await messageByWamid(h, b.workspaceId, wB);
    expect(inA).toBeDefined();
    expect(inB).toBeDefined();
    expect(await messageByWamid(h, a.workspaceId, wB)).toBeUndefined();
    expect(await messageByWamid(h, b.workspaceId, wA)).toBeUndefined();
    // The same person is a separate contact in each workspace.
    expect(inA!.senderId).not.toBe(inB!.senderId);

    // B cannot read A's conversation or its messages, and does not list it.
    expectError(await h.call("GET", `/v1/conversations/${inA!.conversationId}`, { token: b.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/conversations/${inA!.conversationId}/messages`, { token: b.token }), 404, "not_found");
    const listB = await h.call("GET", "/v1/conversations?source=whatsapp&per_page=100", { token: b.token });
    expect(JSON.stringify(listB.body.data)).not.toContain(inA!.conversationId);

    // One delivery naming both numbers, signed with the platform secret, lands in each workspace once.
    const both = retarget(meta.textMessage(nowTs()), chA.phoneNumberId, waId());
    const other = retarget(meta.reaction(nowTs()), chB.phoneNumberId, waId());
    both.entry.push(other.entry[0]!);
    const r = await postWebhook(h, both, platformSecret(h));
    expect(r.body).toMatchObject({ messages: 2 });
    expect(await messageByWamid(h, a.workspaceId, wamidOf(other))).toBeUndefined();
    expect(await messageByWamid(h, b.workspaceId, wamidOf(other))).toBeDefined();
  });

  it("a request signed with A's own app secret cannot write into B's channel", async () => {
    const chA = await addChannel(h, a, { appSecret: "a-private-secret" });
    const chB = await addChannel(h, b);
    const forB = retarget(meta.textMessage(nowTs()), chB.phoneNumberId, waId());
    const forA = retarget(meta.imageMessage(nowTs()), chA.phoneNumberId, waId());
    forB.entry.push(forA.entry[0]!);
    const r = await postWebhook(h, forB, "a-private-secret");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ messages: 1, ignored: 1 });
    expect(await messageByWamid(h, b.workspaceId, wamidOf(forB))).toBeUndefined();
  });
});

describe("with a channel made through /v1/channels", () => {
  it("its own app_secret and verify_token (write-only secrets) are what the webhook checks", async () => {
    const t = await h.signUp();
    const pnid = `2${Date.now()}`;
    const made = await h.call("POST", "/v1/channels", {
      token: t.token,
      body: { type: "whatsapp", name: "Support", config: { phone_number_id: pnid, access_token: "EAAGtoken", app_secret: "crud-app-secret", verify_token: "crud-verify" } },
    });
    expect(made.status, made.text).toBe(201);
    expect(made.text).not.toContain("crud-app-secret");
    const v = await h.call("GET", "/inbound/whatsapp?hub.mode=subscribe&hub.verify_token=crud-verify&hub.challenge=7");
    expect(v.text).toBe("7");
    const payload = retarget(meta.textMessage(nowTs()), pnid, waId());
    expectError(await postWebhook(h, payload, "wrong"), 401, "unauthorized");
    expect((await postWebhook(h, payload, "crud-app-secret")).body).toMatchObject({ messages: 1 });
    const m = await messageByWamid(h, t.workspaceId, wamidOf(payload));
    expect(m?.content).toBe("Does it come in another color?");
  });
});
