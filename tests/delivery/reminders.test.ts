// Reminders actually sent: a due email reminder becomes an email (reminder_id set) that the
// deliveries job sends through Mailgun; a WhatsApp reminder becomes a template (or text) message
// on the contact's WhatsApp conversation, sent through Graph. The reminder is `sent` once its
// email or message is queued, and `failed` if that delivery fails for good.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { channels, contacts } from "../../schema";
import { ahead, contact, deliverNow, makeDue, pendingFor, reminder, row, sweep, template } from "../reminders/helpers";
import { createHarness, type Tenant } from "../support/harness";
import { addChannel } from "../whatsapp/helpers";
import { emailSetup, settled } from "./helpers";

const h = await createHarness();
const mg = h.services.mailgun!;
const graph = h.services.graph!;

/** Lets the reminder's delayed message arrive, then lets the deliveries it queued run. */
async function due(t: Tenant, id: string) {
  await deliverNow(h, pendingFor(h, id)!);
  await settled(h, t.workspaceId);
}

describe("email reminders", () => {
  it("become an email with reminder_id, sent through Mailgun; the reminder is sent and shows its email", async () => {
    const t = await h.signUp();
    await emailSetup(h, t);
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    await due(t, r.id);
    const after = await row(h, r.id);
    expect(after).toMatchObject({ status: "sent", sentBy: "job", error: null });
    expect(after.emailId).toMatch(/^eml_/);
    const [sent] = mg.sentTo(ct.email);
    expect(sent!.subject).toMatch(/^See you /);
    expect(sent!.html).toBe("<p>Hi Ada Lovelace, see you at the clinic.</p>");
    expect(sent!.variables).toMatchObject({ parley_email_id: after.emailId });
    const email = await h.call("GET", `/v1/emails/${after.emailId}`, { token: t.token });
    expect(email.body).toMatchObject({ reminder_id: r.id, template_id: tpl.id, contact_id: ct.id, status: "sent", provider_message_id: sent!.id });
    const api = await h.call("GET", `/v1/reminders/${r.id}`, { token: t.token });
    expect(api.body).toMatchObject({ status: "sent", email_id: after.emailId, delivery_status: "sent" });
  });

  it("a reminder whose email Mailgun refuses ends failed with the delivery's error", async () => {
    const t = await h.signUp();
    await emailSetup(h, t);
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    mg.failNext({ status: 400, message: "'to' parameter is not a valid address. please check documentation" });
    await due(t, r.id);
    const after = await row(h, r.id);
    expect(after).toMatchObject({ status: "failed", error: { code: "provider_rejected" } });
    expect(after.sentAt).toBeNull();
  });

  it("without an email channel the reminder fails with no_channel, and nothing is sent", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    await due(t, r.id);
    expect(await row(h, r.id)).toMatchObject({ status: "failed", error: { code: "no_channel" }, emailId: null });
    expect(mg.sentTo(ct.email)).toHaveLength(0);
  });
});

describe("the sweep's batch", () => {
  it("sends many due email reminders in one run: each its own email from its own channel, rendered for its contact; a contact without an address fails alone", async () => {
    const t = await h.signUp();
    const main = await emailSetup(h, t);
    const other = await emailSetup(h, t);
    const tpl = await template(h, t);
    const people = await Promise.all(["Ada", "Grace", "Alan", "Edsger"].map((name) => contact(h, t, { name })));
    const noAddress = await contact(h, t, { name: "Nobody" });
    const made = [];
    for (const [i, p] of people.entries()) made.push({ p, r: await reminder(h, t, { template_id: tpl.id, contact_id: p.id, event_at: ahead(h, 30), ...(i === 3 ? { channel_id: other.channelId } : {}) }) });
    // A reminder whose contact lost its address after it was made.
    const lost = await reminder(h, t, { template_id: tpl.id, contact_id: noAddress.id, event_at: ahead(h, 30) });
    await h.services.db.update(contacts).set({ email: null }).where(eq(contacts.id, noAddress.id));
    for (const { r } of [...made, { r: lost }]) await makeDue(h, r.id);
    const res = await sweep(h, t.workspaceId);
    expect(res.status).toBe(200);
    await settled(h, t.workspaceId);
    for (const [i, { p, r }] of made.entries()) {
      const after = await row(h, r.id);
      expect(after).toMatchObject({ status: "sent", sentBy: "sweep", error: null });
      const [mail, ...more] = mg.sentTo(p.email);
      expect(more).toHaveLength(0);
      expect(mail!.html).toBe(`<p>Hi ${p.name}, see you at the clinic.</p>`);
      expect(mail!.from).toContain(i === 3 ? other.address : main.address);
      expect(mail!.variables).toMatchObject({ parley_email_id: after.emailId });
    }
    expect(await row(h, lost.id)).toMatchObject({ status: "failed", error: { code: "no_address" } });
  });
});

describe("WhatsApp reminders", () => {
  it("a template reminder goes out as the approved template with the body's values as parameters", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const phone = `+1650${Math.floor(1e6 + Math.random() * 9e6)}`;
    const ct = await contact(h, t, { phone });
    const tpl = await template(h, t, { channel: "whatsapp", subject: null, body: "Hi {{contact.name}}, see you at {{variables.place}}.", whatsapp_template: { name: "appointment_reminder", language: "en_US" } });
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    await due(t, r.id);
    const after = await row(h, r.id);
    expect(after).toMatchObject({ status: "sent", error: null });
    expect(after.messageId).toMatch(/^msg_/);
    expect(after.conversationId).toMatch(/^conv_/);
    const [send] = graph.sentFrom(ch.phoneNumberId);
    expect(send!.body).toMatchObject({
      to: phone.slice(1),
      type: "template",
      template: { name: "appointment_reminder", language: { code: "en_US" }, components: [{ type: "body", parameters: [{ type: "text", text: "Ada Lovelace" }, { type: "text", text: "the clinic" }] }] },
    });
    const conv = await h.call("GET", `/v1/conversations/${after.conversationId}`, { token: t.token });
    expect(conv.body).toMatchObject({ source: "whatsapp", channel_id: ch.id, contact_id: ct.id });
    const msgs = await h.call("GET", `/v1/conversations/${after.conversationId}/messages`, { token: t.token });
    expect(msgs.body.data[0]).toMatchObject({ id: after.messageId, sender_type: "agent", delivery_status: "sent", external_id: send!.wamid });
    expect((await h.call("GET", `/v1/reminders/${r.id}`, { token: t.token })).body).toMatchObject({ message_id: after.messageId, delivery_status: "sent" });
  });

  it("free text outside the 24-hour window: Graph's 131047 fails the reminder as outside_messaging_window", async () => {
    const t = await h.signUp();
    await addChannel(h, t);
    const ct = await contact(h, t, { phone: `+1650${Math.floor(1e6 + Math.random() * 9e6)}` });
    const tpl = await template(h, t, { channel: "whatsapp", subject: null, body: "Hi {{contact.name}}, see you at {{variables.place}}." });
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    graph.failNext({ status: 400, code: 131047, message: "Re-engagement message" });
    await due(t, r.id);
    expect(await row(h, r.id)).toMatchObject({ status: "failed", error: { code: "outside_messaging_window" } });
  });

  it("without a WhatsApp channel it fails with no_channel", async () => {
    const t = await h.signUp();
    const ct = await contact(h, t, { phone: `+1650${Math.floor(1e6 + Math.random() * 9e6)}` });
    const tpl = await template(h, t, { channel: "whatsapp", subject: null, body: "Hi {{contact.name}} at {{variables.place}}" });
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: ahead(h, 30) });
    // A channel of another workspace does not count.
    const other = await h.signUp();
    await h.services.db.insert(channels).values({ id: newId("ch"), workspaceId: other.workspaceId, type: "whatsapp", name: "x", config: {}, secrets: {} });
    await due(t, r.id);
    expect(await row(h, r.id)).toMatchObject({ status: "failed", error: { code: "no_channel" } });
  });
});
