// POST /inbound/mailgun/messages: Mailgun's route forward. Signatures (forged, stale, replayed,
// per-channel keys), unknown recipients, malformed forms, contacts and conversations, quoted text,
// threading, dedupe under redelivery, reopening, attachments (limits and quota) and tenancy.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { forwardFields, signedForwardRequest } from "../../lib/local/mailgun-inbound";
import { mailgunSignature, signMailgun } from "../../lib/mailgun-signature";
import { contacts, conversations, emails, events, messages, workspaces } from "../../schema";
import { files } from "../../schema/files";
import { createHarness, expectError, type Harness, type Tenant } from "../support/harness";
import { addEmailChannel, bare, customer, messageByExternalId, mid, platformKey, postForward } from "./helpers";
import { replyForward } from "./mailgun-samples";

let h: Harness;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  h = await createHarness();
  [a, b] = await Promise.all([h.signUp(), h.signUp()]);
});

const storageOf = (x: Harness) => x.services.provider({ env: {}, waitUntil: () => {}, defer: () => {} }).storage;
const countMessages = async (workspaceId: string) => (await h.services.db.select({ id: messages.id }).from(messages).where(eq(messages.workspaceId, workspaceId))).length;

describe("signatures", () => {
  it("refuses missing, malformed, forged, stale and future signatures with 401 and stores nothing", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: id });
    const good = await mailgunSignature(platformKey(h));
    const old = await mailgunSignature(platformKey(h), Date.now() - 6 * 60_000);
    const future = await mailgunSignature(platformKey(h), Date.now() + 6 * 60_000);
    const cases: Array<[Parameters<typeof postForward>[2], string]> = [
      [{ key: null }, "missing_signature"],
      [{ signature: { ...good, signature: "abc" } }, "missing_signature"],
      [{ signature: { ...good, timestamp: "yesterday" } }, "missing_signature"],
      [{ key: "not-the-signing-key" }, "signature_mismatch"],
      [{ signature: { ...good, signature: await signMailgun(good.timestamp, `${good.token}x`, platformKey(h)) } }, "signature_mismatch"],
      [{ signature: old }, "stale_timestamp"],
      [{ signature: future }, "stale_timestamp"],
    ];
    for (const [opts, reason] of cases) {
      const r = await postForward(h, fields, opts);
      expect(expectError(r, 401, "unauthorized").details).toEqual({ reason });
    }
    expect(await messageByExternalId(h, a.workspaceId, bare(id))).toBeUndefined();
  });

  it("accepts each token once: the same signed request again is a 401 token_reused", async () => {
    const ch = await addEmailChannel(h, a);
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: mid() });
    const sig = await mailgunSignature(platformKey(h));
    expect((await postForward(h, fields, { signature: sig })).status).toBe(200);
    const again = await postForward(h, { ...fields, "Message-Id": mid(), "message-headers": "[]" }, { signature: sig });
    expect(expectError(again, 401, "unauthorized").details).toEqual({ reason: "token_reused" });
  });

  it("a channel with its own webhook_signing_key accepts only that key, not the platform's", async () => {
    const ch = await addEmailChannel(h, a, { signingKey: "acme-own-mailgun-key" });
    const id = mid();
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: id });
    expectError(await postForward(h, fields), 401, "unauthorized");
    expect(await messageByExternalId(h, a.workspaceId, bare(id))).toBeUndefined();
    const own = await postForward(h, fields, { key: "acme-own-mailgun-key" });
    expect(own.status, own.text).toBe(200);
    expect(await messageByExternalId(h, a.workspaceId, bare(id))).toBeDefined();
  });

  it("a channel made through /v1/channels is verified with the webhook_signing_key given there", async () => {
    const addr = `desk-${Date.now()}@mg.acme.example`;
    const made = await h.call("POST", "/v1/channels", { token: a.token, body: { type: "email", name: "Desk", config: { address: addr, webhook_signing_key: "desk-signing-key-1" } } });
    expect(made.status, made.text).toBe(201);
    const fields = replyForward({ recipient: addr, from: customer(), messageId: mid() });
    expectError(await postForward(h, fields), 401, "unauthorized");
    const r = await postForward(h, fields, { key: "desk-signing-key-1" });
    expect(r.status, r.text).toBe(200);
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, r.body.conversation_id));
    expect(conv?.channelId).toBe(made.body.id);
  });
});

describe("recipients and malformed forms", () => {
  it("answers a correctly signed email for an unknown address with 406 (Mailgun does not retry), a badly signed one with 401", async () => {
    const fields = replyForward({ recipient: "nobody-here@mg.acme.example", from: customer(), messageId: mid() });
    const r = await postForward(h, fields);
    expectError(r, 406, "not_found");
    expectError(await postForward(h, fields, { key: "guess" }), 401, "unauthorized");
  });

  it("a body that is not a form, or a broken multipart body, is 400", async () => {
    expectError(await h.call("POST", "/inbound/mailgun/messages", { body: { recipient: "x@y.z" } }), 400, "bad_request");
    expectError(await h.call("POST", "/inbound/mailgun/messages", { raw: "recipient=x", headers: { "content-type": "text/plain" } }), 400, "bad_request");
    expectError(await h.call("POST", "/inbound/mailgun/messages", { raw: "recipient=x" }), 400, "bad_request");
    const broken = "--XyZ\r\nContent-Disposition: form-data; name=\"recipient\"\r\n\r\nsupport@mg.acme.example\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"a.txt\"\r\n\r\nno closing boundary";
    expectError(await h.call("POST", "/inbound/mailgun/messages", { raw: broken, headers: { "content-type": "multipart/form-data; boundary=XyZ" } }), 400, "bad_request");
    expectError(await h.call("POST", "/inbound/mailgun/messages", { raw: "x", headers: { "content-type": "multipart/form-data" } }), 400, "bad_request");
  });

  it("a signed form without a usable sender is 422 naming the field", async () => {
    const ch = await addEmailChannel(h, a);
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: mid() });
    fields.from = "undisclosed-recipients:;";
    fields.sender = "";
    fields["message-headers"] = "[]";
    const e = expectError(await postForward(h, fields), 422, "validation_error");
    expect(Object.keys(e.details.fields)).toEqual(["from"]);
  });

  it("odd but signed fields never answer 500", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const weird: Array<Record<string, string>> = [
      { recipient: ch.address, from, "message-headers": "{not json", "attachment-count": "abc" },
      { recipient: ch.address, from, "message-headers": JSON.stringify([["Message-Id"], [1, 2], "x", null]), "attachment-count": "-3" },
      { recipient: ch.address, from, "attachment-count": "99999", "attachment-1": "not a file", subject: "x".repeat(5000) },
      { recipient: `${ch.address}, other@mg.acme.example`, from: `"Bad \u0000 Name" <${from}>`, "body-plain": "nul \u0000 byte", "Message-Id": "<a b c>" },
      { recipient: ch.address, from, "Message-Id": `<${"x".repeat(2000)}@y>`, "In-Reply-To": "<".repeat(500), References: "a@b ".repeat(2000) },
      // Attacker-chosen text that made backtracking patterns take seconds.
      { recipient: ch.address, from, "body-plain": `${" \n".repeat(100_000)}hi`, To: ",".repeat(20_000), "Message-Id": "<hostile-body@x.example>" },
    ];
    for (const fields of weird) {
      const r = await postForward(h, fields);
      expect(r.status, r.text).toBe(200);
    }
    const [nul] = await h.services.db
      .select()
      .from(messages)
      .where(and(eq(messages.workspaceId, a.workspaceId), eq(messages.content, "nul  byte")));
    expect(nul).toBeDefined();
  });
});

describe("contacts, conversations and content", () => {
  it("Mailgun's sample reply creates the contact (From name), an email conversation on the channel titled by the subject, and the stripped text", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const id = mid();
    const r = await postForward(h, replyForward({ recipient: ch.address, from, messageId: id, subject: "Order 1042 never arrived" }));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ received: true, duplicate: false, conversation_created: true, reopened: false, attachment_ids: [], skipped_attachments: [] });

    const msg = await messageByExternalId(h, a.workspaceId, bare(id));
    expect(msg).toMatchObject({ id: r.body.message_id, conversationId: r.body.conversation_id, senderType: "contact", source: "email", deliveryStatus: null });
    expect(msg!.content).toBe("Hi Bob,\n\nThis is a reply to your message: the parcel still has not arrived.");
    expect(msg!.metadata.email).toMatchObject({ message_id: bare(id), from, from_name: "Alice Customer", recipient: ch.address, channel_id: ch.id, signature: "Thanks,\nAlice" });

    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, r.body.conversation_id));
    expect(conv).toMatchObject({ workspaceId: a.workspaceId, source: "email", channelId: ch.id, title: "Order 1042 never arrived", status: "open", messageCount: 1, unreadCount: 1 });
    const [contact] = await h.services.db.select().from(contacts).where(eq(contacts.id, conv!.contactId!));
    expect(contact).toMatchObject({ email: from, name: "Alice Customer", workspaceId: a.workspaceId });
    expect(msg!.senderId).toBe(contact!.id);
    expect(contact!.lastSeenAt).toBeInstanceOf(Date);

    const recorded = await h.services.db.select({ type: events.type, entityId: events.entityId }).from(events).where(eq(events.workspaceId, a.workspaceId));
    expect(recorded).toEqual(
      expect.arrayContaining([
        { type: "conversation.created", entityId: conv!.id },
        { type: "message.created", entityId: msg!.id },
        { type: "contact.created", entityId: contact!.id },
      ]),
    );

    // Through the API: the agent sees the conversation and its message.
    const listed = await h.call("GET", `/v1/conversations/${conv!.id}/messages`, { token: a.token });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((m: { content: string }) => m.content)).toEqual([msg!.content]);
  });

  it("finds an existing contact by email, case-insensitively", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const made = await h.call("POST", "/v1/contacts", { token: a.token, body: { name: "Known Customer", email: from } });
    expect(made.status, made.text).toBe(201);
    const r = await postForward(h, replyForward({ recipient: ch.address.toUpperCase(), from: from.toUpperCase(), messageId: mid() }));
    expect(r.status, r.text).toBe(200);
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, r.body.conversation_id));
    expect(conv!.contactId).toBe(made.body.id);
  });

  it("without stripped-text, strips the `On … wrote:` attribution, quoted lines and the signature itself", async () => {
    const ch = await addEmailChannel(h, a);
    const cases: Array<[string, string]> = [
      ["Sounds good, ship it.\n\nOn Tue, Dec 1, 2026 at 9:00 AM Acme Support <support@mg.acme.example>\nwrote:\n> Shall we ship?\n> Yes?", "Sounds good, ship it."],
      ["Top reply\r\n\r\n> quoted one\r\n> quoted two\r\nAfter quote\r\n-- \r\nAlice\r\nCEO", "Top reply\n\nAfter quote"],
      ["New text\n\n-----Original Message-----\nFrom: Acme\nSent: Monday\nOld text", "New text"],
      ["Answer\n\nFrom: Acme Support <support@mg.acme.example>\nSent: Tuesday, December 1, 2026 9:00 AM\nTo: Alice\nOld", "Answer"],
      ["> only quoted\n> text", "> only quoted\n> text"],
    ];
    for (const [body, expected] of cases) {
      const id = mid();
      const fields = replyForward({ recipient: ch.address, from: customer(), messageId: id });
      delete fields["stripped-text"];
      fields["body-plain"] = body;
      const r = await postForward(h, fields);
      expect(r.status, r.text).toBe(200);
      expect((await messageByExternalId(h, a.workspaceId, bare(id)))!.content).toBe(expected);
    }
  });

  it("reads Message-Id, In-Reply-To and Subject from message-headers when the fields are absent", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const first = mid();
    const r1 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: first }));
    const second = mid();
    const fields = replyForward({ recipient: ch.address, from, messageId: second, inReplyTo: first, subject: "Re: Re: Sample" });
    delete fields["Message-Id"];
    delete fields["In-Reply-To"];
    delete fields.subject;
    const r2 = await postForward(h, fields);
    expect(r2.status, r2.text).toBe(200);
    expect(r2.body.conversation_id).toBe(r1.body.conversation_id);
    expect((await messageByExternalId(h, a.workspaceId, bare(second)))!.metadata.email).toMatchObject({ subject: "Re: Re: Sample", in_reply_to: bare(first) });
  });
});

describe("threading", () => {
  it("threads a reply into the conversation of the message it answers (In-Reply-To), and a new subject starts a new one", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const first = mid();
    const r1 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: first, subject: "Refund" }));
    const r2 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), inReplyTo: first, references: first, subject: "Re: Refund" }));
    expect(r2.body).toMatchObject({ conversation_id: r1.body.conversation_id, conversation_created: false });
    const r3 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), subject: "Another topic" }));
    expect(r3.body.conversation_created).toBe(true);
    expect(r3.body.conversation_id).not.toBe(r1.body.conversation_id);
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, r1.body.conversation_id));
    expect(conv!.messageCount).toBe(2);
  });

  it("threads by References into the conversation of an agent reply (messages.external_id) or a sent email (emails.provider_message_id)", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const start = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), subject: "Invoice" }));
    const convId = start.body.conversation_id;
    // The agent's reply, as the delivery job records it: Mailgun's id without brackets.
    const sent = await h.call("POST", `/v1/conversations/${convId}/messages`, { token: a.token, body: { content: "Here is your invoice.", sender_type: "agent" } });
    expect(sent.status, sent.text).toBe(201);
    const agentMid = `20261205120000.1.${Date.now()}@mg.acme.example`;
    await h.services.db.update(messages).set({ externalId: agentMid }).where(eq(messages.id, sent.body.id));
    const r = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), references: `<unknown@x.example> <${agentMid}>`, subject: "Re: Invoice" }));
    expect(r.body).toMatchObject({ conversation_id: convId, conversation_created: false });

    // An email sent through /v1/emails for another conversation, recorded with its provider id.
    const other = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), subject: "Other" }));
    const emailMid = `20261205120500.2.${Date.now()}@mg.acme.example`;
    await h.services.db.insert(emails).values({
      id: `eml_${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
      workspaceId: a.workspaceId,
      conversationId: other.body.conversation_id,
      fromAddress: ch.address,
      to: [from],
      subject: "Other",
      status: "sent",
      providerMessageId: emailMid,
    });
    const r2 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), inReplyTo: `<${emailMid}>`, subject: "Re: Other" }));
    expect(r2.body).toMatchObject({ conversation_id: other.body.conversation_id, conversation_created: false });
  });

  it("a reference to a deleted conversation or an unknown id starts a new conversation", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const first = mid();
    const r1 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: first }));
    expect((await h.call("DELETE", `/v1/conversations/${r1.body.conversation_id}`, { token: a.token })).status).toBe(200);
    const r2 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), inReplyTo: first }));
    expect(r2.body.conversation_created).toBe(true);
    const r3 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), inReplyTo: "<never-seen@x.example>" }));
    expect(r3.body.conversation_created).toBe(true);
  });
});

describe("dedupe and reopening", () => {
  it("a redelivery (same Message-Id, new token) answers 200 duplicate and stores nothing new, also when concurrent", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: id });
    const before = await countMessages(a.workspaceId);
    const first = await postForward(h, fields);
    const again = await postForward(h, fields);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ duplicate: true, message_id: first.body.message_id, conversation_id: first.body.conversation_id });
    const burst = await Promise.all([1, 2, 3].map(() => postForward(h, { ...fields, "Message-Id": `<burst-${id.slice(1)}` })));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(burst.filter((r) => r.body.duplicate === false)).toHaveLength(1);
    expect(new Set(burst.map((r) => r.body.message_id)).size).toBe(1);
    expect(await countMessages(a.workspaceId)).toBe(before + 2);
  });

  it("a resolved or closed conversation that gets a new customer email reopens", async () => {
    const ch = await addEmailChannel(h, a);
    const from = customer();
    const first = mid();
    const r1 = await postForward(h, replyForward({ recipient: ch.address, from, messageId: first }));
    const convId = r1.body.conversation_id;
    for (const status of ["resolved", "closed"]) {
      const set = await h.call("POST", `/v1/conversations/${convId}/status`, { token: a.token, body: { status } });
      expect(set.status, set.text).toBe(200);
      const r = await postForward(h, replyForward({ recipient: ch.address, from, messageId: mid(), inReplyTo: first }));
      expect(r.body).toMatchObject({ conversation_id: convId, reopened: true });
      const got = await h.call("GET", `/v1/conversations/${convId}`, { token: a.token });
      expect(got.body.status).toBe("open");
    }
    const changes = await h.services.db
      .select({ data: events.data })
      .from(events)
      .where(and(eq(events.workspaceId, a.workspaceId), eq(events.entityId, convId), eq(events.type, "conversation.status_changed")));
    expect(changes.map((e) => (e.data as { to: string; reason?: string }).reason).filter((x) => x === "customer_replied")).toHaveLength(2);
  });
});

describe("attachments", () => {
  it("stores attachments as inbound files on the message and the conversation", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const pdf = new File([new Uint8Array([0x25, 0x50, 0x44, 0x46, 1, 2, 3])], "invoice.pdf", { type: "application/pdf" });
    const txt = new File(["hello attachment"], "..\\..\\notes.txt", { type: "text/plain" });
    const r = await postForward(h, replyForward({ recipient: ch.address, from: customer(), messageId: id }), { files: [pdf, txt] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.attachment_ids).toHaveLength(2);
    const msg = await messageByExternalId(h, a.workspaceId, bare(id));
    expect(msg!.attachmentIds).toEqual(r.body.attachment_ids);
    const rows = await h.services.db.select().from(files).where(eq(files.messageId, msg!.id));
    expect(rows.map((f) => [f.filename, f.kind, f.size, f.mimeType, f.conversationId]).sort()).toEqual(
      [
        ["invoice.pdf", "inbound", 7, "application/pdf", msg!.conversationId],
        ["notes.txt", "inbound", 16, "text/plain", msg!.conversationId],
      ].sort(),
    );
    const note = rows.find((f) => f.filename === "notes.txt")!;
    expect(new TextDecoder().decode((await storageOf(h).get(note.storageKey))!.body)).toBe("hello attachment");
    // The agent sees them through the API; another workspace does not.
    const got = await h.call("GET", `/v1/files/${note.id}`, { token: a.token });
    expect(got.status).toBe(200);
    expectError(await h.call("GET", `/v1/files/${note.id}`, { token: b.token }), 404, "not_found");
    const conv = await h.call("GET", `/v1/conversations/${msg!.conversationId}`, { token: a.token });
    expect(conv.body.attachments.map((x: { id: string }) => x.id).sort()).toEqual([...r.body.attachment_ids].sort());
  });

  it("skips an attachment over 25 MiB (noted in the message metadata), keeps the others, never a 500", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const huge = new File([new Uint8Array(25 * 1024 * 1024 + 1)], "huge.bin", { type: "application/octet-stream" });
    const small = new File(["ok"], "small.txt", { type: "text/plain" });
    const r = await postForward(h, replyForward({ recipient: ch.address, from: customer(), messageId: id }), { files: [huge, small] });
    expect(r.status, r.text).toBe(200);
    expect(r.body.attachment_ids).toHaveLength(1);
    expect(r.body.skipped_attachments).toEqual([{ filename: "huge.bin", size: 25 * 1024 * 1024 + 1, reason: "too_large" }]);
    const msg = await messageByExternalId(h, a.workspaceId, bare(id));
    expect(msg!.metadata.email).toMatchObject({ skipped_attachments: [{ filename: "huge.bin", reason: "too_large" }] });
  });

  it("a form over 40 MiB is 413 before anything is stored", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const big = [new File([new Uint8Array(21 * 1024 * 1024)], "a.bin"), new File([new Uint8Array(21 * 1024 * 1024)], "b.bin")];
    expectError(await postForward(h, replyForward({ recipient: ch.address, from: customer(), messageId: id }), { files: big }), 413, "payload_too_large");
    expect(await messageByExternalId(h, a.workspaceId, bare(id))).toBeUndefined();
  });

  it("skips attachments that would exceed the workspace's storage quota; the message is still stored", async () => {
    const t = await h.signUp();
    const ch = await addEmailChannel(h, t);
    // A file row standing for almost all of the free plan's 1 GiB.
    await h.services.db.insert(files).values({ id: `file_quota${Date.now()}`, workspaceId: t.workspaceId, filename: "big.bin", size: 1024 * 1024 * 1024 - 10, mimeType: "application/octet-stream", storageKey: `${t.workspaceId}/none` });
    const id = mid();
    const r = await postForward(h, replyForward({ recipient: ch.address, from: customer(), messageId: id }), {
      files: [new File(["12345"], "fits.txt"), new File(["0123456789"], "too-much.txt")],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.attachment_ids).toHaveLength(1);
    expect(r.body.skipped_attachments).toEqual([{ filename: "too-much.txt", size: 10, reason: "storage_quota_exceeded" }]);
    // A bigger plan has room again.
    await h.services.db.update(workspaces).set({ plan: "pro" }).where(eq(workspaces.id, t.workspaceId));
    const r2 = await postForward(h, replyForward({ recipient: ch.address, from: customer(), messageId: mid() }), { files: [new File(["0123456789"], "now-fits.txt")] });
    expect(r2.body.skipped_attachments).toEqual([]);
  });

  it("reads attachment-N parts even without attachment-count", async () => {
    const ch = await addEmailChannel(h, a);
    const sig = await mailgunSignature(platformKey(h));
    const form = new FormData();
    for (const [k, v] of Object.entries({ ...replyForward({ recipient: ch.address, from: customer(), messageId: mid() }), ...sig })) form.append(k, v);
    form.append("attachment-1", new File(["one"], "one.txt", { type: "text/plain" }));
    form.append("attachment-2", new File(["two"], "two.txt", { type: "text/plain" }));
    const r = await h.call("POST", "/inbound/mailgun/messages", { raw: form });
    expect(r.status, r.text).toBe(200);
    expect(r.body.attachment_ids).toHaveLength(2);
  });

  it("a redelivery with attachments stores no second copy", async () => {
    const ch = await addEmailChannel(h, a);
    const id = mid();
    const fields = replyForward({ recipient: ch.address, from: customer(), messageId: id });
    const f = () => [new File(["same bytes"], "same.txt", { type: "text/plain" })];
    const r1 = await postForward(h, fields, { files: f() });
    const r2 = await postForward(h, fields, { files: f() });
    expect(r2.body).toMatchObject({ duplicate: true, attachment_ids: [] });
    const rows = await h.services.db.select().from(files).where(and(eq(files.workspaceId, a.workspaceId), eq(files.conversationId, r1.body.conversation_id)));
    expect(rows).toHaveLength(1);
  });
});

describe("tenancy", () => {
  it("an email to A's address lands only in A, even when it references B's messages", async () => {
    const chA = await addEmailChannel(h, a);
    const chB = await addEmailChannel(h, b);
    const from = customer();
    const bFirst = mid();
    const rb = await postForward(h, replyForward({ recipient: chB.address, from, messageId: bFirst }));
    const bMessagesBefore = await countMessages(b.workspaceId);
    const ra = await postForward(h, replyForward({ recipient: chA.address, from, messageId: mid(), inReplyTo: bFirst, references: bFirst }));
    expect(ra.status).toBe(200);
    expect(ra.body.conversation_created).toBe(true);
    expect(ra.body.conversation_id).not.toBe(rb.body.conversation_id);
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, ra.body.conversation_id));
    expect(conv!.workspaceId).toBe(a.workspaceId);
    expect(await countMessages(b.workspaceId)).toBe(bMessagesBefore);
    // The same sender is a separate contact in each workspace.
    const cs = await h.services.db.select({ ws: contacts.workspaceId }).from(contacts).where(eq(contacts.email, from));
    expect(cs.map((c) => c.ws).sort()).toEqual([a.workspaceId, b.workspaceId].sort());
    // The same Message-Id in two workspaces is two messages (dedupe is per workspace).
    const shared = mid();
    const x = await postForward(h, replyForward({ recipient: chA.address, from, messageId: shared }));
    const y = await postForward(h, replyForward({ recipient: chB.address, from, messageId: shared }));
    expect([x.body.duplicate, y.body.duplicate]).toEqual([false, false]);
    expectError(await h.call("GET", `/v1/conversations/${ra.body.conversation_id}`, { token: b.token }), 404, "not_found");
  });

  it("A's own signing key cannot post to B's address", async () => {
    const chA = await addEmailChannel(h, a, { signingKey: "key-of-workspace-a" });
    const chB = await addEmailChannel(h, b, { signingKey: "key-of-workspace-b" });
    expect(chA.id).not.toBe(chB.id);
    const id = mid();
    expectError(await postForward(h, replyForward({ recipient: chB.address, from: customer(), messageId: id }), { key: "key-of-workspace-a" }), 401, "unauthorized");
    expect(await messageByExternalId(h, b.workspaceId, bare(id))).toBeUndefined();
  });
});

describe("npm run simulate -- email", () => {
  it("the request it builds (lib/local/mailgun-inbound.ts) is accepted, threads by --in-reply-to and carries --attach files", async () => {
    const ch = await addEmailChannel(h, a);
    const first = forwardFields({ to: ch.address, from: customer(), fromName: "Sim Customer", subject: "Simulated", text: "First" });
    const r1 = await h.dispatch(await signedForwardRequest("http://127.0.0.1:8787/inbound/mailgun/messages", first, platformKey(h)));
    const b1 = (await r1.json()) as { conversation_id: string };
    expect(r1.status, JSON.stringify(b1)).toBe(200);
    const reply = forwardFields({ to: ch.address, from: first.sender!, subject: "Re: Simulated", text: "Second", quoted: "First", inReplyTo: first["Message-Id"] });
    const r2 = await h.dispatch(await signedForwardRequest("http://127.0.0.1:8787/inbound/mailgun/messages", reply, platformKey(h), [new File(["pdf"], "a.pdf", { type: "application/pdf" })]));
    const b2 = (await r2.json()) as { conversation_id: string; attachment_ids: string[] };
    expect(b2).toMatchObject({ conversation_id: b1.conversation_id, conversation_created: false });
    expect(b2.attachment_ids).toHaveLength(1);
    expect((await messageByExternalId(h, a.workspaceId, bare(reply["Message-Id"]!)))!.content).toBe("Second");
  });
});

describe("OpenAPI", () => {
  it("documents the route forward with its form, answers and examples", async () => {
    const doc = (await h.call("GET", "/openapi.json")).body;
    const op = doc.paths["/inbound/mailgun/messages"].post;
    expect(Object.keys(op.requestBody.content).sort()).toEqual(["application/x-www-form-urlencoded", "multipart/form-data"]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "401", "406", "413", "422"]));
    expect(doc.components.schemas.MailgunForwardAck.example).toBeDefined();
  });
});
