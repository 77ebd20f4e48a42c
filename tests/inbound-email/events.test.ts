// POST /inbound/mailgun/events: Mailgun's event webhook. Signatures, malformed bodies, correlation
// by custom variables or message id, idempotency per event id, status progression (never
// backwards, temporary failures move nothing), the carried message's delivery status, and tenancy.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { mailgunSignature } from "../../lib/mailgun-signature";
import { emailEvents, emails, messages } from "../../schema";
import { createHarness, expectError, type Harness, type Tenant } from "../support/harness";
import { addEmailChannel, customer, platformKey, postEvent, postForward, type TestEmailChannel } from "./helpers";
import { deliveredEvent, failedEvent, replyForward, simpleEvent } from "./mailgun-samples";

let h: Harness;
let a: Tenant;
let b: Tenant;
let chA: TestEmailChannel;

beforeAll(async () => {
  h = await createHarness();
  [a, b] = await Promise.all([h.signUp(), h.signUp()]);
  chA = await addEmailChannel(h, a);
  // The emails here are made by hand (sentEmail): the deliveries jobs that an agent reply
  // publishes are acknowledged without running, so they do not send those replies themselves.
  h.services.qstash!.deliverVia((req) => (new URL(req.url).pathname === "/jobs/deliveries" ? Promise.resolve(new Response("{}", { status: 200 })) : h.dispatch(req)));
});

let n = 0;
const eventId = () => `ev-${Date.now().toString(36)}-${(n++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const providerId = () => `20261205120000.${n++}.${Math.random().toString(16).slice(2, 14).toUpperCase()}@mg.acme.example`;

interface Sent {
  emailId: string;
  messageId?: string;
  providerMessageId: string;
  to: string;
  workspaceId: string;
  vars: Record<string, string>;
}

/**
 * An email as the delivery job leaves it once Mailgun accepted it (status sent, Mailgun's id
 * without brackets); with `reply`, an agent reply on an email conversation that it carries.
 */
async function sentEmail(t: Tenant, ch: TestEmailChannel, o: { reply?: boolean; status?: "queued" | "sent" } = {}): Promise<Sent> {
  const to = customer();
  const providerMessageId = providerId();
  let conversationId: string | undefined;
  let messageId: string | undefined;
  if (o.reply) {
    const start = await postForward(h, replyForward({ recipient: ch.address, from: to, messageId: `<start-${providerMessageId}>` }), { key: ch.signingKey ?? platformKey(h) });
    conversationId = start.body.conversation_id;
    const sent = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { content: "We are on it.", sender_type: "agent" } });
    expect(sent.status, sent.text).toBe(201);
    messageId = sent.body.id;
    await h.services.db.update(messages).set({ externalId: providerMessageId, deliveryStatus: "sent", status: "sent" }).where(eq(messages.id, messageId!));
  }
  const emailId = newId("eml");
  await h.services.db.insert(emails).values({
    id: emailId,
    workspaceId: t.workspaceId,
    channelId: ch.id,
    conversationId: conversationId ?? null,
    messageId: messageId ?? null,
    fromAddress: ch.address,
    to: [to],
    subject: "Re: Order 1042",
    text: "We are on it.",
    status: o.status ?? "sent",
    providerMessageId,
  });
  const vars: Record<string, string> = { parley_workspace_id: t.workspaceId, parley_email_id: emailId, ...(messageId ? { parley_message_id: messageId } : {}) };
  return { emailId, messageId, providerMessageId, to, workspaceId: t.workspaceId, vars };
}

const emailRow = async (id: string) => (await h.services.db.select().from(emails).where(eq(emails.id, id)))[0]!;
const eventsOf = (id: string) => h.services.db.select().from(emailEvents).where(eq(emailEvents.emailId, id));
const messageRow = async (id: string) => (await h.services.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe("signatures and malformed bodies", () => {
  it("refuses missing, forged, stale and replayed signatures with 401 and records nothing", async () => {
    const s = await sentEmail(a, chA);
    const body = deliveredEvent({ id: eventId(), messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars });
    const reason = async (r: Awaited<ReturnType<typeof postEvent>>) => expectError(r, 401, "unauthorized").details.reason;
    expect(await reason(await postEvent(h, body, { key: null }))).toBe("missing_signature");
    expect(await reason(await postEvent(h, { ...body, signature: { timestamp: "1", token: "short" } }, { key: null }))).toBe("missing_signature");
    expect(await reason(await postEvent(h, body, { key: "wrong-key" }))).toBe("signature_mismatch");
    expect(await reason(await postEvent(h, body, { signature: await mailgunSignature(platformKey(h), Date.now() - 10 * 60_000) }))).toBe("stale_timestamp");
    expect(await eventsOf(s.emailId)).toHaveLength(0);
    expect((await emailRow(s.emailId)).status).toBe("sent");

    const sig = await mailgunSignature(platformKey(h));
    expect((await postEvent(h, body, { signature: sig })).status).toBe(200);
    const replay = await postEvent(h, deliveredEvent({ id: eventId(), messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars }), { signature: sig });
    expect(await reason(replay)).toBe("token_reused");
    expect(await eventsOf(s.emailId)).toHaveLength(1);
  });

  it("malformed JSON is 400; a signed body without event-data is 422; odd signed events never 500", async () => {
    expectError(await h.call("POST", "/inbound/mailgun/events", { raw: '{"signature": {', headers: { "content-type": "application/json" } }), 400, "bad_request");
    expectError(await h.call("POST", "/inbound/mailgun/events", { raw: "\xff\xfe", headers: { "content-type": "application/json" } }), 400, "bad_request");
    expectError(await postEvent(h, {}), 422, "validation_error");
    expectError(await postEvent(h, { "event-data": [1, 2] }), 422, "validation_error");
    const s = await sentEmail(a, chA);
    const odd: Array<Record<string, unknown>> = [
      { "event-data": { event: "delivered" } },
      { "event-data": { event: "stored", id: eventId(), "user-variables": s.vars } },
      { "event-data": { event: 5, id: {}, timestamp: "soon", "user-variables": "not json", message: { headers: "x" } } },
      { "event-data": { event: "failed", id: eventId(), "user-variables": JSON.stringify(s.vars), "delivery-status": "bounced", timestamp: 1e15, recipient: "\u0000" } },
      { "event-data": { event: "clicked", id: eventId(), "user-variables": { parley_email_id: 7, parley_workspace_id: ["x"] }, message: { headers: { "message-id": `<${s.providerMessageId}>` } }, url: "x".repeat(10_000) } },
    ];
    for (const body of odd) {
      const r = await postEvent(h, body);
      expect(r.status, r.text).toBe(200);
    }
    // The user-variables as a JSON string still found the email; the future timestamp became now.
    const recorded = await eventsOf(s.emailId);
    expect(recorded.map((e) => e.type).sort()).toEqual(["clicked", "failed"]);
    expect(recorded.every((e) => e.occurredAt.getTime() <= Date.now() + 1000)).toBe(true);
  });
});

describe("events", () => {
  it("Mailgun's delivered sample moves the email and the message it carries to delivered, recorded once per event id", async () => {
    const s = await sentEmail(a, chA, { reply: true });
    const id = eventId();
    const body = deliveredEvent({ id, messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars });
    const r = await postEvent(h, body);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ received: true, matched: true, duplicate: false, email_id: s.emailId, event: "delivered", status: "delivered" });
    expect((await emailRow(s.emailId)).status).toBe("delivered");
    expect((await messageRow(s.messageId!)).deliveryStatus).toBe("delivered");
    const [ev] = await eventsOf(s.emailId);
    expect(ev).toMatchObject({ type: "delivered", providerEventId: id, workspaceId: a.workspaceId, data: { recipient: s.to, delivery_status: { code: 250, message: "OK", attempt_no: 1 } } });

    // Redelivered (a new token, the same event): 200, nothing new.
    const again = await postEvent(h, body);
    expect(again.body).toMatchObject({ matched: true, duplicate: true, status: "delivered" });
    const burst = await Promise.all([1, 2, 3].map(() => postEvent(h, body)));
    expect(burst.map((x) => x.body.duplicate)).toEqual([true, true, true]);
    expect(await eventsOf(s.emailId)).toHaveLength(1);

  });

  it("progresses queued → sent → delivered → opened → clicked and never moves back", async () => {
    const s = await sentEmail(a, chA, { reply: true, status: "queued" });
    await h.services.db.update(messages).set({ deliveryStatus: "queued" }).where(eq(messages.id, s.messageId!));
    const base = { messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars };
    const steps: Array<[Record<string, unknown>, string, string]> = [
      [simpleEvent("accepted", { id: eventId(), ...base }), "sent", "sent"],
      [deliveredEvent({ id: eventId(), ...base }), "delivered", "delivered"],
      [simpleEvent("opened", { id: eventId(), ...base }), "opened", "read"],
      [simpleEvent("clicked", { id: eventId(), ...base }), "clicked", "read"],
      // Late, out-of-order events are recorded but move nothing back.
      [deliveredEvent({ id: eventId(), ...base }), "clicked", "read"],
      [simpleEvent("accepted", { id: eventId(), ...base }), "clicked", "read"],
      [simpleEvent("opened", { id: eventId(), ...base }), "clicked", "read"],
    ];
    for (const [body, status, delivery] of steps) {
      const r = await postEvent(h, body);
      expect(r.body.status, r.text).toBe(status);
      expect((await emailRow(s.emailId)).status).toBe(status);
      expect((await messageRow(s.messageId!)).deliveryStatus).toBe(delivery);
    }
    expect(await eventsOf(s.emailId)).toHaveLength(steps.length);
  });

  it("a temporary failure is recorded but moves nothing; a permanent one fails the email and the message with the error", async () => {
    const s = await sentEmail(a, chA, { reply: true });
    const base = { messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars };
    const temp = await postEvent(h, failedEvent({ id: eventId(), severity: "temporary", ...base }));
    expect(temp.body).toMatchObject({ matched: true, event: "failed", status: "sent" });
    expect((await emailRow(s.emailId)).error).toBeNull();
    expect((await messageRow(s.messageId!)).deliveryStatus).toBe("sent");

    const perm = await postEvent(h, failedEvent({ id: eventId(), severity: "permanent", ...base }));
    expect(perm.body.status).toBe("failed");
    const email = await emailRow(s.emailId);
    expect(email.status).toBe("failed");
    expect(email.error).toEqual({ code: "bounced", message: expect.stringMatching(/^550 5\.1\.1 The email account that you tried to reach does not exist/) });
    const msg = await messageRow(s.messageId!);
    expect(msg.deliveryStatus).toBe("failed");
    expect(msg.deliveryError).toEqual(email.error);

    // Failed is terminal: a late delivered or opened does not revive it.
    await postEvent(h, deliveredEvent({ id: eventId(), ...base }));
    await postEvent(h, simpleEvent("opened", { id: eventId(), ...base }));
    expect((await emailRow(s.emailId)).status).toBe("failed");
    expect((await messageRow(s.messageId!)).deliveryStatus).toBe("failed");
    const types = (await eventsOf(s.emailId)).map((e) => [e.type, (e.data as { severity?: string }).severity ?? null]);
    expect(types).toEqual(expect.arrayContaining([["failed", "temporary"], ["failed", "permanent"], ["delivered", null], ["opened", null]]));
  });

  it("complained and unsubscribed end an email's progression; a complaint outranks an unsubscribe", async () => {
    const s = await sentEmail(a, chA);
    const base = { messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars };
    await postEvent(h, simpleEvent("clicked", { id: eventId(), ...base }));
    expect((await postEvent(h, simpleEvent("unsubscribed", { id: eventId(), ...base }))).body.status).toBe("unsubscribed");
    expect((await postEvent(h, simpleEvent("opened", { id: eventId(), ...base }))).body.status).toBe("unsubscribed");
    expect((await postEvent(h, simpleEvent("complained", { id: eventId(), ...base }))).body.status).toBe("complained");
    expect((await postEvent(h, simpleEvent("unsubscribed", { id: eventId(), ...base }))).body.status).toBe("complained");
  });

  it("finds the email by Mailgun's message id when there are no custom variables (with or without brackets)", async () => {
    const s = await sentEmail(a, chA);
    const r = await postEvent(h, deliveredEvent({ id: eventId(), messageId: s.providerMessageId, recipient: s.to }));
    expect(r.body).toMatchObject({ matched: true, email_id: s.emailId, status: "delivered" });
    const r2 = await postEvent(h, simpleEvent("opened", { id: eventId(), messageId: `<${s.providerMessageId}>`, recipient: s.to }));
    expect(r2.body).toMatchObject({ matched: true, email_id: s.emailId, status: "opened" });
  });

  it("an event for an email Parley does not know is answered 200 (Mailgun stops) and records nothing", async () => {
    const id = eventId();
    const r = await postEvent(h, deliveredEvent({ id, messageId: providerId(), recipient: customer(), userVariables: { parley_workspace_id: a.workspaceId, parley_email_id: newId("eml") } }));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ received: true, matched: false, duplicate: false, email_id: null, event: "delivered", status: null });
    expect(await h.services.db.select().from(emailEvents).where(eq(emailEvents.providerEventId, id))).toHaveLength(0);
  });
});

describe("tenancy", () => {
  it("events for B's email signed with A's key are refused, whatever the event claims", async () => {
    const chAOwn = await addEmailChannel(h, a, { signingKey: "events-key-of-a" });
    const chBOwn = await addEmailChannel(h, b, { signingKey: "events-key-of-b", ownAccount: true });
    const chBPlatform = await addEmailChannel(h, b);
    const own = await sentEmail(b, chBOwn, { reply: true });
    const onPlatform = await sentEmail(b, chBPlatform);
    const mine = await sentEmail(a, chAOwn);

    const attempts: Array<[Record<string, unknown>, string]> = [
      // B's email by its own variables, by message id, and by A's workspace plus B's email id.
      [deliveredEvent({ id: eventId(), messageId: own.providerMessageId, recipient: own.to, userVariables: own.vars }), "events-key-of-a"],
      [failedEvent({ id: eventId(), severity: "permanent", messageId: own.providerMessageId, recipient: own.to }), "events-key-of-a"],
      [failedEvent({ id: eventId(), severity: "permanent", messageId: own.providerMessageId, recipient: own.to, userVariables: { parley_workspace_id: a.workspaceId, parley_email_id: own.emailId } }), "events-key-of-a"],
      // B's email on the platform account: A's own key is not the platform's.
      [failedEvent({ id: eventId(), severity: "permanent", messageId: onPlatform.providerMessageId, recipient: onPlatform.to, userVariables: onPlatform.vars }), "events-key-of-a"],
      // The platform key cannot speak for a channel that sends through its own Mailgun account either.
      [failedEvent({ id: eventId(), severity: "permanent", messageId: own.providerMessageId, recipient: own.to, userVariables: own.vars }), platformKey(h)],
    ];
    for (const [body, key] of attempts) expectError(await postEvent(h, body, { key }), 401, "unauthorized");
    expect((await emailRow(own.emailId)).status).toBe("sent");
    expect((await emailRow(onPlatform.emailId)).status).toBe("sent");
    expect((await messageRow(own.messageId!)).deliveryStatus).toBe("sent");
    expect(await eventsOf(own.emailId)).toHaveLength(0);

    // A's key moves A's email, and a parley_message_id of B's is not touched by it.
    const r = await postEvent(h, failedEvent({ id: eventId(), severity: "permanent", messageId: mine.providerMessageId, recipient: mine.to, userVariables: { ...mine.vars, parley_message_id: own.messageId! } }), { key: "events-key-of-a" });
    expect(r.body).toMatchObject({ matched: true, email_id: mine.emailId, status: "failed" });
    expect((await messageRow(own.messageId!)).deliveryStatus).toBe("sent");
    // B's own key moves B's email.
    const rb = await postEvent(h, deliveredEvent({ id: eventId(), messageId: own.providerMessageId, recipient: own.to, userVariables: own.vars }), { key: "events-key-of-b" });
    expect(rb.body).toMatchObject({ matched: true, status: "delivered" });
    const [row] = await h.services.db
      .select()
      .from(emailEvents)
      .where(and(eq(emailEvents.emailId, own.emailId), eq(emailEvents.workspaceId, b.workspaceId)));
    expect(row).toBeDefined();
  });
});

describe("signing keys by sending account", () => {
  it("a channel on Parley's account with a webhook_signing_key accepts the platform key (Parley's account signed) and its own", async () => {
    const ch = await addEmailChannel(h, a, { signingKey: "own-key-platform-account" });
    const s = await sentEmail(a, ch);
    const base = { messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars };
    expect((await postEvent(h, simpleEvent("accepted", { id: eventId(), ...base }))).body).toMatchObject({ matched: true, status: "sent" });
    expect((await postEvent(h, deliveredEvent({ id: eventId(), ...base }), { key: "own-key-platform-account" })).body).toMatchObject({ matched: true, status: "delivered" });
    expectError(await postEvent(h, simpleEvent("opened", { id: eventId(), ...base }), { key: "some-other-key" }), 401, "unauthorized");
  });

  it("a channel with its own Mailgun account accepts only its webhook_signing_key; without one its events cannot verify", async () => {
    const ch = await addEmailChannel(h, a, { signingKey: "own-account-key", ownAccount: true });
    const s = await sentEmail(a, ch);
    const base = { messageId: s.providerMessageId, recipient: s.to, userVariables: s.vars };
    expectError(await postEvent(h, deliveredEvent({ id: eventId(), ...base })), 401, "unauthorized");
    expect((await postEvent(h, deliveredEvent({ id: eventId(), ...base }), { key: "own-account-key" })).body).toMatchObject({ matched: true, status: "delivered" });
    const bare = await addEmailChannel(h, a, { ownAccount: true });
    const s2 = await sentEmail(a, bare);
    expectError(await postEvent(h, deliveredEvent({ id: eventId(), messageId: s2.providerMessageId, recipient: s2.to, userVariables: s2.vars })), 401, "unauthorized");
    expect((await emailRow(s2.emailId)).status).toBe("sent");
  });
});

describe("OpenAPI", () => {
  it("documents the event webhook with its body, answers and examples", async () => {
    const doc = (await h.call("GET", "/openapi.json")).body;
    const op = doc.paths["/inbound/mailgun/events"].post;
    expect(op.requestBody.content["application/json"]).toBeDefined();
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "422"]));
    expect(doc.components.schemas.MailgunEventWebhook.example).toBeDefined();
    expect(doc.components.schemas.MailgunEventAck.example).toBeDefined();
  });
});
