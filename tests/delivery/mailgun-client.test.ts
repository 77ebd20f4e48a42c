// The Mailgun client (lib/mailgun.ts) over real HTTP against the local Mailgun stand-in
// (lib/local/mailgun.ts), which speaks Mailgun's messages API: basic auth, multipart form,
// Mailgun's answers, and signed event webhooks.
import { describe, expect, it } from "vitest";
import { signMailgun } from "../../lib/mailgun-signature";
import { interpretMailgunAnswer, type MailgunAccount, sendMailgun } from "../../lib/mailgun";
import { createHarness, unique } from "../support/harness";

const h = await createHarness();
const mg = h.services.mailgun!;
const platform = (): MailgunAccount => ({ baseUrl: mg.url, domain: h.services.config.mailgun.domain!, apiKey: h.services.config.mailgun.apiKey!, owner: "platform" });
const to = () => `${unique("bob")}@customer.example`.toLowerCase();

describe("sending", () => {
  it("posts Mailgun's multipart form with basic auth; the id comes back without brackets", async () => {
    const rcpt = to();
    const out = await sendMailgun(platform(), {
      from: '"Acme Support" <support@mg.acme.example>',
      to: [rcpt],
      cc: ["carol@customer.example"],
      bcc: ["audit@acme.example"],
      subject: "Your order",
      text: "It ships today.",
      html: "<p>It ships <b>today</b>.</p>",
      headers: { "Message-Id": "<eml_1@mg.acme.example>", "In-Reply-To": "<CAE1@mail.customer.example>", References: "<CAE0@x> <CAE1@mail.customer.example>" },
      variables: { parley_workspace_id: "ws_1", parley_email_id: "eml_1" },
      attachments: [{ filename: "invoice.pdf", contentType: "application/pdf", data: new Uint8Array([37, 80, 68, 70]) }],
    });
    expect(out).toEqual({ kind: "sent", id: "eml_1@mg.acme.example", message: "Queued. Thank you." });
    const [sent] = mg.sentTo(rcpt);
    expect(sent).toMatchObject({
      domain: h.services.config.mailgun.domain,
      apiKey: h.services.config.mailgun.apiKey,
      id: "eml_1@mg.acme.example",
      from: '"Acme Support" <support@mg.acme.example>',
      to: [rcpt],
      cc: ["carol@customer.example"],
      bcc: ["audit@acme.example"],
      subject: "Your order",
      text: "It ships today.",
      html: "<p>It ships <b>today</b>.</p>",
      headers: { "In-Reply-To": "<CAE1@mail.customer.example>", References: "<CAE0@x> <CAE1@mail.customer.example>" },
      variables: { parley_workspace_id: "ws_1", parley_email_id: "eml_1" },
      attachments: [{ filename: "invoice.pdf", contentType: "application/pdf", size: 4 }],
    });
  });

  it("without a Message-Id Mailgun makes one on its domain", async () => {
    const out = await sendMailgun(platform(), { from: "support@mg.acme.example", to: [to()], subject: "Hi", text: "Hello" });
    expect(out.kind).toBe("sent");
    if (out.kind === "sent") expect(out.id).toMatch(new RegExp(`^\\d{14}\\.[0-9a-f]+@${h.services.config.mailgun.domain!.replaceAll(".", "\\.")}$`));
  });

  it("a wrong or revoked key is `unauthorized` (401 Forbidden)", async () => {
    const wrong = await sendMailgun({ ...platform(), apiKey: "key-wrong" }, { from: "a@mg.acme.example", to: [to()], subject: "x", text: "x" });
    expect(wrong).toMatchObject({ kind: "unauthorized", code: "channel_unauthorized", status: 401 });
    expect(wrong.kind === "unauthorized" && wrong.message).toContain("Forbidden");
    const otherDomain = await sendMailgun({ ...platform(), domain: "mg.someone-else.example" }, { from: "a@mg.acme.example", to: [to()], subject: "x", text: "x" });
    expect(otherDomain.kind).toBe("unauthorized");
  });

  it("Mailgun's 400 is `rejected` with its message; 429, 5xx, a 2xx without id and a closed port are `retry`", async () => {
    mg.failNext({ status: 400, message: "'to' parameter is not a valid address. please check documentation" });
    const rejected = await sendMailgun(platform(), { from: "a@mg.acme.example", to: [to()], subject: "x", text: "x" });
    expect(rejected).toMatchObject({ kind: "rejected", code: "provider_rejected", status: 400 });
    expect(rejected.kind === "rejected" && rejected.message).toContain("not a valid address");
    // An address the stand-in itself refuses, as Mailgun would.
    const bad = await sendMailgun(platform(), { from: "a@mg.acme.example", to: ["not an address"], subject: "x", text: "x" });
    expect(bad).toMatchObject({ kind: "rejected", status: 400 });
    for (const status of [429, 500, 502, 503]) {
      mg.failNext({ status });
      expect(await sendMailgun(platform(), { from: "a@mg.acme.example", to: [to()], subject: "x", text: "x" })).toMatchObject({ kind: "retry", status });
    }
    expect(interpretMailgunAnswer(200, '{"message":"Queued. Thank you."}').kind).toBe("retry");
    expect(interpretMailgunAnswer(200, "<html>proxy</html>").kind).toBe("retry");
    expect(await sendMailgun({ ...platform(), baseUrl: "http://127.0.0.1:9" }, { from: "a@mg.acme.example", to: [to()], subject: "x", text: "x" })).toMatchObject({ kind: "retry" });
  });
});

describe("the stand-in speaks Mailgun's protocol", () => {
  const auth = () => `Basic ${Buffer.from(`api:${h.services.config.mailgun.apiKey}`).toString("base64")}`;
  const url = () => `${mg.url}/v3/${h.services.config.mailgun.domain}/messages`;

  it("answers missing fields with 400 {message}, bad credentials with 401 Forbidden, and accepts urlencoded forms", async () => {
    const noTo = await fetch(url(), { method: "POST", headers: { authorization: auth() }, body: new URLSearchParams({ from: "a@mg.acme.example", subject: "x", text: "x" }) });
    expect(noTo.status).toBe(400);
    expect(await noTo.json()).toEqual({ message: "to parameter is missing" });
    const noBody = await fetch(url(), { method: "POST", headers: { authorization: auth() }, body: new URLSearchParams({ from: "a@mg.acme.example", to: to(), subject: "x" }) });
    expect(noBody.status).toBe(400);
    expect(((await noBody.json()) as { message: string }).message).toMatch(/at least one of 'text', 'html'/);
    const anon = await fetch(url(), { method: "POST", body: new URLSearchParams({ from: "a@mg.acme.example", to: to(), subject: "x", text: "x" }) });
    expect(anon.status).toBe(401);
    expect(await anon.text()).toBe("Forbidden");
    const ok = await fetch(url(), { method: "POST", headers: { authorization: auth() }, body: new URLSearchParams({ from: "a@mg.acme.example", to: `${to()}, ${to()}`, subject: "x", text: "x" }) });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { id: string; message: string };
    expect(body).toMatchObject({ message: "Queued. Thank you." });
    expect(body.id).toMatch(/^<.+@.+>$/);
    expect(mg.byId(body.id)!.to).toHaveLength(2);
  });

  it("event webhooks carry Mailgun's shape, the message id and user-variables, signed with HMAC(timestamp + token)", async () => {
    const rcpt = to();
    const out = await sendMailgun(platform(), { from: "a@mg.acme.example", to: [rcpt], subject: "x", text: "x", variables: { parley_email_id: "eml_9" } });
    if (out.kind !== "sent") throw new Error("not sent");
    const key = h.services.config.mailgunWebhookSigningKey!;
    const payload = await mg.eventPayload(mg.byId(out.id)!, "delivered", key);
    expect(payload["event-data"]).toMatchObject({
      event: "delivered",
      recipient: rcpt,
      message: { headers: { "message-id": out.id } },
      "user-variables": { parley_email_id: "eml_9" },
      "delivery-status": { code: 250 },
    });
    expect(typeof payload["event-data"].timestamp).toBe("number");
    const { timestamp, token, signature } = payload.signature;
    expect(signature).toBe(await signMailgun(timestamp, token, key));
  });
});
