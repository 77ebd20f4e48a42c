// /v1/emails: sending (queued → sent through Mailgun's stand-in), templates, validation (every
// problem at once, 422), listing with filters and pagination, one email with its events, and
// security (401, scopes, other workspaces' emails, contacts, conversations, channels, templates).
import { describe, expect, it } from "vitest";
import { Email, EmailWithEvents } from "../../functions/email/emails.schemas";
import { createHarness, expectError, type Tenant, unique } from "../support/harness";
import { agentToken, expectInvisible } from "../support/tenancy";
import { settled } from "../delivery/helpers";

const h = await createHarness();
const mg = h.services.mailgun!;

async function setup(t: Tenant) {
  const address = `${unique("support")}@mg.acme.example`.toLowerCase();
  const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "Support", config: { address, from_name: "Acme Support" } } });
  const email = `${unique("ada")}@customer.example`.toLowerCase();
  const ct = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Ada Lovelace", email } });
  const conv = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Order", source: "email", channel_id: ch.body.id, contact_id: ct.body.id } });
  const tpl = await h.call("POST", "/v1/reminder-templates", {
    token: t.token,
    body: { name: "Shipped", channel: "email", subject: "Order {{variables.order}} shipped", body: "<p>Hi {{contact.name}}, order {{variables.order}} is on its way.</p>" },
  });
  return { channelId: ch.body.id as string, address, contactId: ct.body.id as string, email, conversationId: conv.body.id as string, templateId: tpl.body.id as string };
}

const send = (t: Pick<Tenant, "token">, body: unknown) => h.call("POST", "/v1/emails", { token: t.token, body });

describe("POST /v1/emails", () => {
  it("answers 202 queued, then Mailgun sends it; GET shows it sent with its accepted event", async () => {
    const t = await h.signUp();
    const s = await setup(t);
    const r = await send(t, { to: s.email, cc: ["Billing@Customer.Example"], subject: "Your order", text: "It shipped.", html: "<p>It shipped.</p>", contact_id: s.contactId });
    expect(r.status, r.text).toBe(202);
    expect(Email.safeParse(r.body).success).toBe(true);
    expect(r.body).toMatchObject({ status: "queued", to: [s.email], cc: ["billing@customer.example"], from: `"Acme Support" <${s.address}>`, channel_id: s.channelId, contact_id: s.contactId, provider_message_id: null });
    expect(r.body.id).toMatch(/^eml_/);
    await settled(h, t.workspaceId);
    const [sent] = mg.sentTo(s.email);
    expect(sent).toMatchObject({ subject: "Your order", text: "It shipped.", html: "<p>It shipped.</p>", cc: ["billing@customer.example"], variables: { parley_workspace_id: t.workspaceId, parley_email_id: r.body.id } });
    const got = await h.call("GET", `/v1/emails/${r.body.id}`, { token: t.token });
    expect(got.status).toBe(200);
    expect(EmailWithEvents.safeParse(got.body).success).toBe(true);
    expect(got.body).toMatchObject({ status: "sent", provider_message_id: sent!.id, attempts: 1, error: null });
    expect(got.body.sent_at).toBeTruthy();
    expect(got.body.events.map((e: { type: string }) => e.type)).toEqual(["accepted"]);
    // Mailgun's delivered event (signed, through /inbound/mailgun/events) then moves it on.
    const ev = await mg.emitEvent(sent!.id, "delivered");
    expect(ev.status).toBe(200);
    const after = await h.call("GET", `/v1/emails/${r.body.id}`, { token: t.token });
    expect(after.body.status).toBe("delivered");
    expect(after.body.events.map((e: { type: string }) => e.type)).toEqual(["accepted", "delivered"]);
  });

  it("renders an email reminder template with the contact and variables (values HTML-escaped)", async () => {
    const t = await h.signUp();
    const s = await setup(t);
    const r = await send(t, { to: s.email, template_id: s.templateId, variables: { order: "<#4821>" }, contact_id: s.contactId });
    expect(r.status, r.text).toBe(202);
    expect(r.body).toMatchObject({ subject: "Order <#4821> shipped", template_id: s.templateId, variables: { order: "<#4821>" } });
    expect(r.body.html).toBe("<p>Hi Ada Lovelace, order &lt;#4821&gt; is on its way.</p>");
    expect(r.body.text).toContain("Hi Ada Lovelace, order <#4821> is on its way.");
    await settled(h, t.workspaceId);
    expect(mg.sentTo(s.email)[0]!.subject).toBe("Order <#4821> shipped");
  });

  it("sends from the conversation's channel, or the named one", async () => {
    const t = await h.signUp();
    const s = await setup(t);
    const other = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "Sales", config: { address: `${unique("sales")}@mg.acme.example`, from_address: "sales@acme.example" } } });
    const viaConv = await send(t, { to: s.email, subject: "a", text: "a", conversation_id: s.conversationId });
    expect(viaConv.body).toMatchObject({ channel_id: s.channelId, conversation_id: s.conversationId });
    const named = await send(t, { to: s.email, subject: "b", text: "b", channel_id: other.body.id });
    expect(named.body).toMatchObject({ channel_id: other.body.id, from: "sales@acme.example" });
  });

  it("lists every problem at once (422), and a workspace without an email channel is a 422 on channel_id", async () => {
    const t = await h.signUp();
    const bare = expectError(await send(t, { to: "ada@example.com", subject: "x", text: "x" }), 422, "validation_error");
    expect(Object.keys(bare.details.fields)).toEqual(["channel_id"]);
    const s = await setup(t);
    const cases: Array<[unknown, string[]]> = [
      [{}, ["to", "subject", "text"]],
      [{ to: "not-an-address", subject: "x", text: "x" }, ["to"]],
      [{ to: ["a@example.com", "nope"], subject: "x", text: "x" }, ["to.1"]],
      [{ to: Array.from({ length: 51 }, (_, i) => `a${i}@example.com`), subject: "x", text: "x" }, ["to"]],
      [{ to: "a@example.com", subject: "line\r\nbreak", text: "x" }, ["subject"]],
      [{ to: "a@example.com", subject: "x" }, ["text"]],
      [{ to: "a@example.com", template_id: s.templateId, subject: "x", text: "y" }, ["subject", "text"]],
      [{ to: "a@example.com", subject: "x", text: "x", variables: { a: "b" } }, ["variables"]],
      [{ to: "a@example.com", template_id: s.templateId }, ["variables.order"]],
      [{ to: "a@example.com", subject: "x", text: "x", contact_id: "ct_nope", conversation_id: "conv_nope", channel_id: "ch_nope", cc: "bad" }, ["cc"]],
      [{ to: "a@example.com", subject: "x", text: "x", contact_id: "ct_nope", conversation_id: "conv_nope", channel_id: "ch_nope" }, ["contact_id", "conversation_id", "channel_id"]],
      [{ to: "a@example.com", template_id: "rtpl_nope", variables: {} }, ["template_id"]],
    ];
    for (const [body, fields] of cases) {
      const err = expectError(await send(t, body), 422, "validation_error");
      expect(Object.keys(err.details.fields).sort(), JSON.stringify(body).slice(0, 200)).toEqual([...fields].sort());
    }
    // A WhatsApp template is not an email template.
    const wa = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { name: "WA", channel: "whatsapp", body: "Hi {{contact.name}}" } });
    expect(Object.keys(expectError(await send(t, { to: "a@example.com", template_id: wa.body.id }), 422, "validation_error").details.fields)).toEqual(["template_id"]);
    // A WhatsApp channel is not an email channel.
    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "whatsapp", name: "WA", config: { phone_number_id: String(Date.now()).slice(-12), access_token: "EAAGx" } } });
    expect(expectError(await send(t, { to: "a@example.com", subject: "x", text: "x", channel_id: ch.body.id }), 422, "validation_error").details.fields.channel_id).toEqual(["Must be an email channel."]);
    // Malformed JSON is a 400, never a 500.
    expectError(await h.call("POST", "/v1/emails", { token: t.token, raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });
});

describe("GET /v1/emails", () => {
  it("filters by status, contact_id and to; paginates with links", async () => {
    const t = await h.signUp();
    const s = await setup(t);
    mg.failNext({ status: 400, message: "'to' parameter is not a valid address. please check documentation" });
    const bad = await send(t, { to: "bounce@customer.example", subject: "x", text: "x" });
    await settled(h, t.workspaceId);
    for (let i = 0; i < 3; i++) await send(t, { to: s.email, subject: `n${i}`, text: "x", contact_id: s.contactId });
    await settled(h, t.workspaceId);
    const all = await h.call("GET", "/v1/emails?per_page=2", { token: t.token });
    expect(all.body.meta).toEqual({ page: 1, per_page: 2, total: 4, total_pages: 2 });
    expect(all.body.links.next).toContain("page=2");
    expect(all.body.data[0].subject).toBe("n2");
    const failed = await h.call("GET", "/v1/emails?status=failed", { token: t.token });
    expect(failed.body.data.map((e: { id: string }) => e.id)).toEqual([bad.body.id]);
    expect(failed.body.data[0].error).toMatchObject({ code: "provider_rejected" });
    expect((await h.call("GET", `/v1/emails?contact_id=${s.contactId}`, { token: t.token })).body.meta.total).toBe(3);
    expect((await h.call("GET", `/v1/emails?to=${encodeURIComponent(s.email.toUpperCase())}`, { token: t.token })).body.meta.total).toBe(3);
    expectError(await h.call("GET", "/v1/emails?status=lost", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/emails?sort=subject", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/emails/eml_nope", { token: t.token }), 404, "not_found");
  });

  it("lists the agent replies of email conversations too", async () => {
    const t = await h.signUp();
    const s = await setup(t);
    const m = await h.call("POST", `/v1/conversations/${s.conversationId}/messages`, { token: t.token, body: { content: "On its way.", sender_type: "agent" } });
    await settled(h, t.workspaceId);
    const list = await h.call("GET", "/v1/emails", { token: t.token });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ message_id: m.body.id, conversation_id: s.conversationId, subject: "Re: Order", status: "sent" });
  });
});

describe("security", () => {
  it("401 without credentials; a read key reads but cannot send; any agent may send", async () => {
    for (const [method, path] of [
      ["GET", "/v1/emails"],
      ["POST", "/v1/emails"],
      ["GET", "/v1/emails/eml_x"],
    ] as const) {
      expectError(await h.call(method, path, { body: method === "POST" ? { to: "a@example.com" } : undefined }), 401, "unauthorized");
    }
    const t = await h.signUp();
    const s = await setup(t);
    const key = (await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "reader", scopes: ["read"] } })).body.key as string;
    expect((await h.call("GET", "/v1/emails", { headers: { "x-api-key": key } })).status).toBe(200);
    expectError(await h.call("POST", "/v1/emails", { headers: { "x-api-key": key }, body: { to: s.email, subject: "x", text: "x" } }), 403, "forbidden");
    const agent = await agentToken(h, t, "agent");
    expect((await send(agent, { to: s.email, subject: "x", text: "x" })).status).toBe(202);
  });

  it("another workspace's emails are 404 and absent from lists; its contacts, conversations, channels and templates are 422", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const mineSetup = await setup(mine);
    const s = await setup(theirs);
    const e = await send(theirs, { to: s.email, subject: "private", text: "x", contact_id: s.contactId });
    await settled(h, theirs.workspaceId);
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/emails/${e.body.id}` },
      { list: "/v1/emails", absent: e.body.id },
      { list: `/v1/emails?contact_id=${s.contactId}`, absent: e.body.id },
      { list: `/v1/emails?to=${encodeURIComponent(s.email)}`, absent: e.body.id },
      { method: "POST", path: "/v1/emails", body: { to: s.email, subject: "x", text: "x", contact_id: s.contactId }, expect: 422 },
      { method: "POST", path: "/v1/emails", body: { to: s.email, subject: "x", text: "x", conversation_id: s.conversationId }, expect: 422 },
      { method: "POST", path: "/v1/emails", body: { to: s.email, subject: "x", text: "x", channel_id: s.channelId }, expect: 422 },
      { method: "POST", path: "/v1/emails", body: { to: s.email, template_id: s.templateId, variables: { order: "1" } }, expect: 422 },
    ]);
    // Nothing of theirs was sent from my workspace, nor anything from my channel.
    expect(mg.sentTo(s.email).map((x) => x.subject)).toEqual(["private"]);
    expect(mineSetup.channelId).not.toBe(s.channelId);
  });
});

