// Email delivery end to end: an agent reply on an email conversation is published after its
// commit, the deliveries job sends it through the real Mailgun client to the local stand-in (real
// HTTP), threaded on the conversation, once under redelivery and the sweep; outages keep it queued
// until a later attempt sends it; Mailgun's refusals fail it.
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { deliveryAttempts, emailEvents, emails, messages } from "../../schema";
import { form, upload } from "../files/helpers";
import { createHarness } from "../support/harness";
import { eventually } from "../jobs/helpers";
import { channelRow, deliverJob, emailOfMessage, emailSetup, holdDeliveries, messageRow, reply, settled } from "./helpers";

const h = await createHarness();
const mg = h.services.mailgun!;

describe("an agent reply on an email conversation", () => {
  it("is stored queued, then sent after the commit: Mailgun's id (no brackets) on the message and its email", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const m = await reply(h, t, s.conversationId, "It ships today.");
    expect(m).toMatchObject({ status: "queued" });
    await settled(h, t.workspaceId);
    const [sent] = mg.sentTo(s.contactEmail);
    expect(sent).toMatchObject({
      from: `"Acme Support" <${s.address}>`,
      to: [s.contactEmail],
      subject: "Re: Where is my order?",
      text: "It ships today.",
      domain: h.services.config.mailgun.domain,
    });
    const email = await emailOfMessage(h, t.workspaceId, m.id);
    expect(sent!.variables).toEqual({ parley_workspace_id: t.workspaceId, parley_email_id: email!.id, parley_message_id: m.id });
    expect(sent!.id).toBe(`${email!.id}@${h.services.config.mailgun.domain}`);
    expect(email).toMatchObject({ status: "sent", providerMessageId: sent!.id, conversationId: s.conversationId, contactId: s.contactId, channelId: s.channelId, attempts: 1 });
    expect(await messageRow(h, m.id)).toMatchObject({ deliveryStatus: "sent", status: "sent", externalId: sent!.id, deliveryError: null });
    const events = await h.services.db.select().from(emailEvents).where(eq(emailEvents.emailId, email!.id));
    expect(events.map((e) => e.type)).toEqual(["accepted"]);
    // The API shows it.
    const listed = await h.call("GET", `/v1/conversations/${s.conversationId}/messages`, { token: t.token });
    expect(listed.body.data.at(-1)).toMatchObject({ id: m.id, delivery_status: "sent", external_id: sent!.id });
  });

  it("carries the message's attachments as Mailgun attachment parts", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const up = await upload(h, "/v1/files", t.token, form("%PDF-1.4 invoice", "invoice.pdf", "application/pdf"));
    expect(up.status, up.text).toBe(201);
    const r = await h.call("POST", `/v1/conversations/${s.conversationId}/messages`, { token: t.token, body: { content: "Invoice attached.", sender_type: "agent", attachment_ids: [up.body.id] } });
    expect(r.status, r.text).toBe(201);
    await settled(h, t.workspaceId);
    const [sent] = mg.sentTo(s.contactEmail);
    expect(sent!.attachments).toEqual([{ filename: "invoice.pdf", contentType: "application/pdf", size: 16 }]);
  });

  it("threads: In-Reply-To the last message's Message-Id, References the thread, subject Re: the customer's", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t, { title: "Conversation title" });
    // Two customer emails as the inbound webhook stores them (Message-Ids without brackets).
    for (const [i, id] of ["CAE1@mail.customer.example", "CAE2@mail.customer.example"].entries()) {
      await h.services.db.insert(messages).values({
        id: newId("msg"),
        workspaceId: t.workspaceId,
        conversationId: s.conversationId,
        senderType: "contact",
        content: `customer ${i}`,
        source: "email",
        externalId: id,
        metadata: { email: { subject: i === 0 ? "Order #4821" : "RE: Order #4821", message_id: id } },
        createdAt: new Date(Date.now() - (10 - i) * 60_000),
      });
    }
    const m = await reply(h, t, s.conversationId, "Found it.");
    await settled(h, t.workspaceId);
    const [sent] = mg.sentTo(s.contactEmail);
    expect(sent!.headers).toMatchObject({ "In-Reply-To": "<CAE2@mail.customer.example>", References: "<CAE1@mail.customer.example> <CAE2@mail.customer.example>" });
    expect(sent!.subject).toBe("Re: Order #4821");
    // The next reply threads on ours too.
    await reply(h, t, s.conversationId, "And it shipped.");
    await settled(h, t.workspaceId);
    const second = mg.sentTo(s.contactEmail)[1]!;
    expect(second.headers["In-Reply-To"]).toBe(`<${(await messageRow(h, m.id)).externalId}>`);
    expect(second.headers.References).toBe(`<CAE1@mail.customer.example> <CAE2@mail.customer.example> <${(await messageRow(h, m.id)).externalId}>`);
  });

  it("redelivered, re-published by the sweep and delivered concurrently, it is sent once", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const m = await reply(h, t, s.conversationId, "Once only");
    await settled(h, t.workspaceId);
    const payload = { workspace_id: t.workspaceId, message_id: m.id };
    const key = `delivery:${m.id}`;
    // QStash redelivers the same message: job_runs says it is done.
    expect((await deliverJob(h, payload, key)).body).toMatchObject({ duplicate: true });
    // The sweep's re-publish (another key) and a concurrent pair: each finds it no longer queued.
    const answers = await Promise.all([deliverJob(h, payload), deliverJob(h, payload), deliverJob(h, payload)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(mg.sentTo(s.contactEmail)).toHaveLength(1);
  });

  it("concurrent first deliveries race for one claim: one sends, the others back off", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    // Written straight to the database: no after-commit publish, only the jobs below.
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "race", source: "api", status: "queued", deliveryStatus: "queued" });
    const payload = { workspace_id: t.workspaceId, message_id: id };
    const answers = await Promise.all(Array.from({ length: 4 }, () => deliverJob(h, payload)));
    expect(answers.map((a) => a.status), JSON.stringify(answers.map((a) => a.body))).toEqual([200, 200, 200, 200]);
    expect(mg.sentTo(s.contactEmail)).toHaveLength(1);
    expect((await messageRow(h, id)).deliveryStatus).toBe("sent");
  });

  it("a Mailgun outage (5xx, 429) keeps it queued and answers 5xx (QStash retries); a later attempt sends it", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "patience", source: "api", status: "queued", deliveryStatus: "queued" });
    const payload = { workspace_id: t.workspaceId, message_id: id };
    mg.failNext({ status: 503 }, { status: 429 }, { status: 500 });
    for (let i = 0; i < 3; i++) {
      const r = await deliverJob(h, payload, `delivery:${id}`, i);
      expect(r.status).toBe(503);
      expect((await messageRow(h, id)).deliveryStatus).toBe("queued");
    }
    const email = await emailOfMessage(h, t.workspaceId, id);
    expect(email).toMatchObject({ status: "queued", attempts: 3 });
    const [lease] = await h.services.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.targetId, email!.id));
    expect(lease).toMatchObject({ attempts: 3, claimedUntil: null });
    expect(lease!.lastError).toMatch(/HTTP 500/);
    // QStash's next retry: Mailgun is back.
    const r = await deliverJob(h, payload, `delivery:${id}`, 3);
    expect(r.status).toBe(200);
    expect(await messageRow(h, id)).toMatchObject({ deliveryStatus: "sent" });
    expect(mg.sentTo(s.contactEmail)).toHaveLength(1);
  });

  it("Mailgun's 400 fails it with delivery_error; the channel stays active", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    mg.failNext({ status: 400, message: "'to' parameter is not a valid address. please check documentation" });
    const m = await reply(h, t, s.conversationId, "refused");
    await settled(h, t.workspaceId);
    const row = await messageRow(h, m.id);
    expect(row).toMatchObject({ deliveryStatus: "failed", status: "failed", externalId: null });
    expect(row.deliveryError).toMatchObject({ code: "provider_rejected" });
    expect(row.deliveryError!.message).toContain("not a valid address");
    const email = await emailOfMessage(h, t.workspaceId, m.id);
    expect(email).toMatchObject({ status: "failed", error: { code: "provider_rejected" } });
    const events = await h.services.db.select().from(emailEvents).where(eq(emailEvents.emailId, email!.id));
    expect(events.map((e) => e.type)).toEqual(["failed"]);
    expect((await channelRow(h, s.channelId)).status).toBe("active");
  });

  it("Mailgun's 401 fails it and puts the channel in error until its config is updated", async () => {
    const t = await h.signUp();
    const key = `key-${newId("ch")}`;
    const s = await emailSetup(h, t, { config: { mailgun_domain: "mg.acme-own.example", mailgun_api_key: key } });
    mg.revokeKey(key);
    const m = await reply(h, t, s.conversationId, "hello?");
    await settled(h, t.workspaceId);
    expect((await messageRow(h, m.id)).deliveryError).toMatchObject({ code: "channel_unauthorized" });
    const ch = await channelRow(h, s.channelId);
    expect(ch.status).toBe("error");
    expect(ch.statusReason).toMatch(/refused the account's API key/);
    const patched = await h.call("PATCH", `/v1/channels/${s.channelId}`, { token: t.token, body: { config: { mailgun_api_key: `${key}-new` } } });
    expect(patched.body.status).toBe("active");
  });

  it("a channel with its own Mailgun account sends through that domain and key", async () => {
    const t = await h.signUp();
    const key = `key-${newId("ch")}`;
    const s = await emailSetup(h, t, { config: { mailgun_domain: "mg.tenant-own.example", mailgun_api_key: key } });
    await reply(h, t, s.conversationId, "from our own domain");
    await settled(h, t.workspaceId);
    const [sent] = mg.sentTo(s.contactEmail);
    expect(sent).toMatchObject({ domain: "mg.tenant-own.example", apiKey: key });
    expect(sent!.id).toMatch(/@mg\.tenant-own\.example$/);
  });

  it("fails without sending when the contact has no email or the channel is gone", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const conv = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "No contact", source: "email", channel_id: s.channelId } });
    const m1 = await reply(h, t, conv.body.id, "to nobody");
    await settled(h, t.workspaceId);
    await h.call("DELETE", `/v1/channels/${s.channelId}`, { token: t.token });
    const m2 = await reply(h, t, s.conversationId, "channel gone");
    await settled(h, t.workspaceId);
    expect((await messageRow(h, m1.id)).deliveryError).toMatchObject({ code: "no_recipient" });
    expect((await messageRow(h, m2.id)).deliveryError).toMatchObject({ code: "channel_missing" });
    expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
  });

  it("an attempt that stopped between Mailgun's accept and its record is sent again with the same Message-Id", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "in doubt", source: "api", status: "queued", deliveryStatus: "queued" });
    // First attempt: claimed, then "crashed" (its lease is left behind, as a stopped process leaves it).
    mg.failNext({ status: 503 });
    await deliverJob(h, { workspace_id: t.workspaceId, message_id: id });
    const email = (await emailOfMessage(h, t.workspaceId, id))!;
    await h.services.db
      .update(deliveryAttempts)
      .set({ claimedUntil: new Date(Date.now() + 60_000), attemptId: "crashed" })
      .where(eq(deliveryAttempts.targetId, email.id));
    // While its lease runs, another delivery (the sweep) leaves it alone.
    expect((await deliverJob(h, { workspace_id: t.workspaceId, message_id: id })).body.status).toBe("completed");
    expect((await messageRow(h, id)).deliveryStatus).toBe("queued");
    // The lease ran out: sent, with the Message-Id the first attempt used.
    await h.services.db.update(deliveryAttempts).set({ claimedUntil: sql`now() - interval '1 second'` }).where(eq(deliveryAttempts.targetId, email.id));
    const r = await deliverJob(h, { workspace_id: t.workspaceId, message_id: id });
    expect(r.status).toBe(200);
    const [sent] = mg.sentTo(s.contactEmail);
    expect(sent!.id).toBe(`${email.id}@${h.services.config.mailgun.domain}`);
    expect(await messageRow(h, id)).toMatchObject({ deliveryStatus: "sent", externalId: sent!.id });
  });
});

describe("a conversation deleted before the delivery job runs", () => {
  it("an agent reply goes with it: the job answers 200 and nothing is sent", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const held = holdDeliveries(h);
    let m: Awaited<ReturnType<typeof reply>>;
    try {
      m = await reply(h, t, s.conversationId, "never mind");
      expect((await h.call("DELETE", `/v1/conversations/${s.conversationId}`, { token: t.token })).status).toBe(200);
    } finally {
      held.release();
    }
    await settled(h, t.workspaceId);
    const r = await deliverJob(h, { workspace_id: t.workspaceId, message_id: m.id }, `delivery:${m.id}`);
    expect(r.status).toBe(200);
    expect(await emailOfMessage(h, t.workspaceId, m.id)).toBeUndefined();
    expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
  });

  it("a reply's email already made (Mailgun was down) fails as conversation_deleted: 2xx, not sent, not retried forever, found by the sweep", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "sorry for the wait", source: "api", status: "queued", deliveryStatus: "queued" });
    mg.failNext({ status: 503 });
    expect((await deliverJob(h, { workspace_id: t.workspaceId, message_id: id }, `delivery:${id}`, 0)).status).toBe(503);
    const email = (await emailOfMessage(h, t.workspaceId, id))!;
    expect(email.status).toBe("queued");
    expect((await h.call("DELETE", `/v1/conversations/${s.conversationId}`, { token: t.token })).status).toBe(200);
    // The sweep still sees the orphaned email (its message is gone) and publishes it.
    const sweep = await deliverJob(h, { sweep: true, grace_seconds: 0, workspace_id: t.workspaceId });
    expect(sweep.status).toBe(200);
    // QStash's retry of the reply's own job: acknowledged (2xx), the email failed for good.
    const retry = await deliverJob(h, { workspace_id: t.workspaceId, message_id: id }, `delivery:${id}`, 1);
    expect(retry.status).toBe(200);
    await settled(h, t.workspaceId);
    const [after] = await h.services.db.select().from(emails).where(eq(emails.id, email.id));
    expect(after).toMatchObject({ status: "failed", error: { code: "conversation_deleted" } });
    const events = await h.services.db.select().from(emailEvents).where(eq(emailEvents.emailId, email.id));
    expect(events.map((e) => e.type)).toEqual(["failed"]);
    expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
    const listed = await h.call("GET", `/v1/emails/${email.id}`, { token: t.token });
    expect(listed.body).toMatchObject({ status: "failed", error: { code: "conversation_deleted" } });
  });

  it("POST /v1/emails in that conversation ends failed with conversation_deleted and is not sent", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const held = holdDeliveries(h);
    let sent: { status: number; body: any };
    try {
      sent = await h.call("POST", "/v1/emails", { token: t.token, body: { to: s.contactEmail, subject: "Your order", text: "It shipped.", conversation_id: s.conversationId } });
      expect(sent.status).toBe(202);
      expect((await h.call("DELETE", `/v1/conversations/${s.conversationId}`, { token: t.token })).status).toBe(200);
    } finally {
      held.release();
    }
    await settled(h, t.workspaceId);
    const got = await h.call("GET", `/v1/emails/${sent.body.id}`, { token: t.token });
    expect(got.body).toMatchObject({ status: "failed", error: { code: "conversation_deleted" } });
    expect(got.body.events.map((e: { type: string }) => e.type)).toEqual(["failed"]);
    expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
    // A redelivery is acknowledged and changes nothing.
    const again = await deliverJob(h, { workspace_id: t.workspaceId, email_id: sent.body.id });
    expect(again.status).toBe(200);
    expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
  });
});

describe("the sweep", () => {
  it("publishes what is still queued a minute on (QStash was down at commit time); it is then sent", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    const id = newId("msg");
    const old = new Date(Date.now() - 5 * 60_000);
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "lost publish", source: "api", status: "queued", deliveryStatus: "queued", createdAt: old });
    const fresh = await reply(h, t, s.conversationId, "fresh");
    await eventually(async () => (await messageRow(h, fresh.id)).deliveryStatus === "sent");
    expect(mg.sentTo(s.contactEmail).map((x) => x.text)).toEqual(["fresh"]);
    const r = await deliverJob(h, { sweep: true, workspace_id: t.workspaceId });
    expect(r.status).toBe(200);
    await settled(h, t.workspaceId);
    expect(mg.sentTo(s.contactEmail).map((x) => x.text).sort()).toEqual(["fresh", "lost publish"]);
    expect((await messageRow(h, id)).deliveryStatus).toBe("sent");
    expect((await messageRow(h, fresh.id)).deliveryStatus).toBe("sent");
    // Nothing left: the next sweep publishes nothing.
    const again = await deliverJob(h, { sweep: true, workspace_id: t.workspaceId });
    const [run] = await h.services.db.execute(sql`select result from job_runs where id = ${again.body.run_id}`).then((x) => (Array.isArray(x) ? x : (x as { rows: unknown[] }).rows) as Array<{ result: { published: number } }>);
    expect(run!.result.published).toBe(0);
    expect(and).toBeDefined();
  });
});
