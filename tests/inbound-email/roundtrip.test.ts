// Both halves of email together, on the local Mailgun stand-in: a customer's email arrives through
// the route forward, the agent's reply is delivered by the deliveries job, Mailgun's signed events
// come back to /inbound/mailgun/events, and the customer's answer threads into the conversation.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { emailEvents, emails, messages } from "../../schema";
import { settled } from "../delivery/helpers";
import { createHarness, type Harness, type Tenant } from "../support/harness";
import { bare, customer, mid, postForward } from "./helpers";
import { replyForward } from "./mailgun-samples";

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.signUp();
});

describe("inbound → reply → events → inbound", () => {
  it("threads the whole exchange into one conversation and moves the reply's delivery status with Mailgun's events", async () => {
    const addr = `roundtrip-${Date.now().toString(36)}@mg.acme.example`;
    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "Support", config: { address: addr, from_name: "Acme Support" } } });
    expect(ch.status, ch.text).toBe(201);
    const from = customer();
    const first = mid();
    const inbound = await postForward(h, replyForward({ recipient: addr, from, messageId: first, subject: "Order 1042 never arrived" }));
    expect(inbound.status, inbound.text).toBe(200);
    const convId = inbound.body.conversation_id;

    const sent = await h.call("POST", `/v1/conversations/${convId}/messages`, { token: t.token, body: { content: "It ships today.", sender_type: "agent" } });
    expect(sent.status, sent.text).toBe(201);
    await settled(h, t.workspaceId);
    const [msg] = await h.services.db.select().from(messages).where(eq(messages.id, sent.body.id));
    expect(msg).toMatchObject({ deliveryStatus: "sent" });
    const mg = h.services.mailgun!;
    const out = mg.byId(msg!.externalId!);
    expect(out?.to).toEqual([expect.stringContaining(from)]);

    // Mailgun's events for it, signed by the stand-in as Mailgun signs them.
    expect((await mg.emitEvent(out!.id, "delivered")).status).toBe(200);
    expect((await mg.emitEvent(out!.id, "opened")).status).toBe(200);
    const [after] = await h.services.db.select().from(messages).where(eq(messages.id, sent.body.id));
    expect(after!.deliveryStatus).toBe("read");
    const [email] = await h.services.db.select().from(emails).where(eq(emails.messageId, sent.body.id));
    expect(email!.status).toBe("opened");
    const types = (await h.services.db.select().from(emailEvents).where(eq(emailEvents.emailId, email!.id))).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["delivered", "opened"]));

    // The customer answers the reply: In-Reply-To is the Message-Id they received.
    const answer = mid();
    const r = await postForward(h, replyForward({ recipient: addr, from, messageId: answer, inReplyTo: `<${out!.id}>`, references: `${first} <${out!.id}>`, subject: "Re: Order 1042 never arrived" }));
    expect(r.body).toMatchObject({ conversation_id: convId, conversation_created: false });
    const listed = await h.call("GET", `/v1/conversations/${convId}/messages`, { token: t.token });
    expect(listed.body.data.map((m: { sender_type: string; external_id: string | null }) => [m.sender_type, m.external_id])).toEqual([
      ["contact", bare(first)],
      ["agent", out!.id],
      ["contact", bare(answer)],
    ]);
  });
});
