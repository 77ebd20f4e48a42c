// Writes that run without an interactive transaction, as deployed: in workerd over Neon's HTTP
// transport, a message (counters, row and event: one batch) and a contact (row and event: one
// statement, ON CONFLICT for duplicates) against real PostgreSQL.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { skipEdge, startWorker, uniqueEmail } from "./support";

describe.skipIf(skipEdge)("batched writes in workerd", async () => {
  // One secret for the three Workers, so the identity Worker's token is good at the others.
  const secret = { JWT_SECRET: randomBytes(32).toString("hex") };
  const identity = skipEdge ? (undefined as never) : await startWorker("identity", secret);
  const conversations = skipEdge ? (undefined as never) : await startWorker("conversations", secret);
  const contacts = skipEdge ? (undefined as never) : await startWorker("contacts", secret);
  const signUp = async () => {
    const r = await identity.call("POST", "/v1/workspaces", { body: { name: "Edge writes", owner: { name: "O", email: uniqueEmail("owner"), password: "s3cret-password" } } });
    expect(r.status, r.text).toBe(201);
    return r.body.access_token as string;
  };

  it("sends a message: 201, the counters moved; an unknown conversation is 404", async () => {
    const token = await signUp();
    const conv = await conversations.call("POST", "/v1/conversations", { token, body: { title: "Edge thread", source: "api" } });
    expect(conv.status, conv.text).toBe(201);
    const sent = await conversations.call("POST", `/v1/conversations/${conv.body.id}/messages`, { token, body: { content: "Hello from workerd", sender_type: "contact" } });
    expect(sent.status, sent.text).toBe(201);
    expect(sent.body).toMatchObject({ conversation_id: conv.body.id, sender_type: "contact", content: "Hello from workerd", status: "complete" });
    const got = await conversations.call("GET", `/v1/conversations/${conv.body.id}`, { token });
    expect(got.body).toMatchObject({ message_count: 1, unread_count: 1, last_message_at: sent.body.created_at });
    const missing = await conversations.call("POST", "/v1/conversations/conv_missing/messages", { token, body: { content: "x", sender_type: "agent" } });
    expect(missing.status).toBe(404);
  });

  it("creates a contact: 201; the same email again is 409 naming the holder", async () => {
    const token = await signUp();
    const email = uniqueEmail("ada");
    const created = await contacts.call("POST", "/v1/contacts", { token, body: { name: "Ada", email, attributes: { plan: "pro" } } });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: "Ada", email: email.toLowerCase(), attributes: { plan: "pro" }, tags: [] });
    const dup = await contacts.call("POST", "/v1/contacts", { token, body: { email: email.toUpperCase() } });
    expect(dup.status, dup.text).toBe(409);
    expect(dup.body.error).toMatchObject({ code: "conflict", details: { existing_contact_id: created.body.id, fields: { email: expect.any(Array) } } });
  });
});
