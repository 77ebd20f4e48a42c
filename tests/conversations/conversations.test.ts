import { describe, expect, it } from "vitest";
import { Conversation, ConversationDetail } from "../../functions/conversations/schemas";
import { createHarness, expectError, unique } from "../support/harness";
import { addAgent, apiKey, createConversation, eventsOf, seedAssistant, seedChannel, seedContact, seedSession } from "./fixtures";

const h = await createHarness();

describe("POST /v1/conversations", () => {
  it("creates a conversation without content: no summary requested", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Hello", source: "web", metadata: { a: 1 } } });
    expect(r.status).toBe(201);
    Conversation.parse(r.body);
    expect(r.body).toMatchObject({ title: "Hello", source: "web", status: "open", processing_status: null, metadata: { a: 1 }, tags: [], unread_count: 0, message_count: 0, summary: null });
    expect(r.body.id).toMatch(/^conv_/);
    expect((await eventsOf(h, r.body.id)).map((e) => e.type)).toEqual(["conversation.created"]);
  });

  it("with content, requests the summary: processing, never a made-up summary", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Call", content: "Customer: broken. Agent: refunded." } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ source: "api", processing_status: "processing", summary: null });
    const types = (await eventsOf(h, r.body.id)).map((e) => e.type).sort();
    // The summary job runs in the background and may have finished already (summary.completed).
    expect(types.filter((type) => type !== "summary.completed")).toEqual(["conversation.created", "summary.requested"]);
    const got = await h.call("GET", `/v1/conversations/${r.body.id}`, { token: t.token });
    expect(got.body).toMatchObject({ content: "Customer: broken. Agent: refunded." });
    // The summary job runs in the background (tests/summaries): processing until it completes, then filled.
    if (got.body.processing_status === "processing") expect(got.body.summary).toBeNull();
    else expect(got.body).toMatchObject({ processing_status: "completed", summary: { style: "concise" } });
  });

  it("links a contact and a session of the workspace; the session lends its contact", async () => {
    const t = await h.signUp();
    const ct = await seedContact(h, t);
    const ses = await seedSession(h, t, ct);
    const ch = await seedChannel(h, t, "email");
    const ast = await seedAssistant(h, t);
    const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", source: "email", session_id: ses, channel_id: ch, assistant_id: ast } });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ contact_id: ct, session_id: ses, channel_id: ch, assistant_id: ast, source: "email" });
  });

  it("refuses another workspace's channel or assistant (422), and a source that is not the channel's type", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const theirChannel = await seedChannel(h, other, "email");
    const theirAssistant = await seedAssistant(h, other);
    const ch = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", source: "email", channel_id: theirChannel } }), 422, "validation_error");
    expect(ch.details?.fields).toHaveProperty("channel_id");
    const ast = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", assistant_id: theirAssistant } }), 422, "validation_error");
    expect(ast.details?.fields).toHaveProperty("assistant_id");
    const mine = await seedChannel(h, t, "whatsapp");
    const src = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", source: "email", channel_id: mine } }), 422, "validation_error");
    expect(src.details?.fields).toHaveProperty("source");
    expect((await h.call("GET", "/v1/conversations", { token: t.token })).body.data).toHaveLength(0);
  });

  it("422 names every invalid field, and references outside the workspace", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const foreign = await seedContact(h, other);
    let err = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { source: "fax", metadata: [] } }), 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["metadata", "source", "title"]);
    err = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", contact_id: foreign } }), 422, "validation_error");
    expect(err.details.fields.contact_id).toBeDefined();
    const foreignSession = await seedSession(h, other);
    err = expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", session_id: foreignSession } }), 422, "validation_error");
    expect(err.details.fields.session_id).toBeDefined();
  });

  it("409 when an Idempotency-Key is reused with another body", async () => {
    const t = await h.signUp();
    const key = unique("idem");
    const first = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "one" }, headers: { "idempotency-key": key } });
    expect(first.status).toBe(201);
    const again = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "one" }, headers: { "idempotency-key": key } });
    expect(again.body.id).toBe(first.body.id);
    expectError(await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "two" }, headers: { "idempotency-key": key } }), 409, "conflict");
  });
});

describe("GET /v1/conversations/{id}", () => {
  it("returns content, contact, tag objects, summary and an empty attachments list", async () => {
    const t = await h.signUp();
    const ct = await seedContact(h, t, { name: "Ada", email: "ada@example.com" });
    const conv = await createConversation(h, t, { contact_id: ct, content: "hi" });
    await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "vip" } });
    const r = await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token });
    expect(r.status).toBe(200);
    ConversationDetail.parse(r.body);
    expect(r.body.contact).toMatchObject({ id: ct, name: "Ada", email: "ada@example.com", phone: null, attributes: {} });
    expect(r.body.tags).toEqual([expect.objectContaining({ name: "vip", id: expect.stringMatching(/^tag_/) })]);
    expect(r.body.attachments).toEqual([]);
    // null while the summary job runs, the summary once it completed (tests/summaries).
    expect(r.body.summary === null || typeof r.body.summary.content === "string").toBe(true);
  });

  it("resets unread_count for agents, not for API keys", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    for (let i = 0; i < 2; i++) await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { content: "hi", sender_type: "contact" } });
    const key = await apiKey(h, t);
    const byKey = await h.call("GET", `/v1/conversations/${conv.id}`, { headers: { "x-api-key": key } });
    expect(byKey.body.unread_count).toBe(2);
    expect((await h.call("GET", `/v1/conversations/${conv.id}`, { headers: { "x-api-key": key } })).body.unread_count).toBe(2);
    const byAgent = await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token });
    expect(byAgent.body.unread_count).toBe(2); // as it was before this read
    expect((await h.call("GET", `/v1/conversations/${conv.id}`, { headers: { "x-api-key": key } })).body.unread_count).toBe(0);
  });

  it("404 for an unknown id", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/conversations/conv_nope", { token: t.token }), 404, "not_found");
  });
});

describe("PATCH /v1/conversations/{id}", () => {
  it("merges metadata key by key and deletes keys set to null", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t, { metadata: { keep: 1, change: "a", drop: true, nested: { x: 1 } } });
    const r = await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { metadata: { change: "b", drop: null, added: [1, 2] } } });
    expect(r.status).toBe(200);
    expect(r.body.metadata).toEqual({ keep: 1, change: "b", nested: { x: 1 }, added: [1, 2] });
    const again = await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { metadata: { nested: { y: 2 } } } });
    expect(again.body.metadata.nested).toEqual({ y: 2 }); // one level: a key's value is replaced whole
    expect((await eventsOf(h, conv.id)).map((e) => e.type)).toContain("conversation.updated");
  });

  it("changes title, status and assignee with their events", async () => {
    const t = await h.signUp();
    const agent = await addAgent(h, t);
    const conv = await createConversation(h, t);
    const r = await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { title: "New", status: "resolved", assignee_id: agent } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: "New", status: "resolved", assignee_id: agent });
    expect(r.body.resolved_at).toEqual(expect.any(String));
    expect(Date.parse(r.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(conv.updated_at));
    const types = (await eventsOf(h, conv.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["conversation.updated", "conversation.status_changed", "conversation.assigned"]));
    const unassigned = await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { assignee_id: null } });
    expect(unassigned.body.assignee_id).toBeNull();
  });

  it("an empty PATCH changes nothing; invalid fields are 422", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const r = await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: {} });
    expect(r.status).toBe(200);
    expect(r.body.updated_at).toBe(conv.updated_at);
    const err = expectError(await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { status: "done", title: "" } }), 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["status", "title"]);
    const other = await h.signUp();
    const bad = expectError(await h.call("PATCH", `/v1/conversations/${conv.id}`, { token: t.token, body: { assignee_id: other.agentId } }), 422, "validation_error");
    expect(bad.details.fields.assignee_id).toBeDefined();
  });
});

describe("POST /v1/conversations/{id}/status", () => {
  it("keeps resolved_at: set on resolve, kept on close, cleared on reopen", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const resolved = await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "resolved" } });
    expect(resolved.body.status).toBe("resolved");
    const at = resolved.body.resolved_at;
    expect(at).toEqual(expect.any(String));
    const closed = await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "closed" } });
    expect(closed.body).toMatchObject({ status: "closed", resolved_at: at });
    const reopened = await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "open" } });
    expect(reopened.body).toMatchObject({ status: "open", resolved_at: null });
    const snoozed = await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "snoozed" } });
    expect(snoozed.body).toMatchObject({ status: "snoozed", resolved_at: null });
    const changes = (await eventsOf(h, conv.id)).filter((e) => e.type === "conversation.status_changed").map((e) => `${e.data.from}>${e.data.to}`);
    expect(changes.sort()).toEqual(["closed>open", "open>snoozed", "open>resolved", "resolved>closed"].sort());
  });

  it("the same status again is a no-op; an unknown one is 422", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const r = await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "open" } });
    expect(r.status).toBe(200);
    expect((await eventsOf(h, conv.id)).some((e) => e.type === "conversation.status_changed")).toBe(false);
    const err = expectError(await h.call("POST", `/v1/conversations/${conv.id}/status`, { token: t.token, body: { status: "archived" } }), 422, "validation_error");
    expect(err.details.fields.status).toBeDefined();
  });
});

describe("POST /v1/conversations/{id}/assign", () => {
  it("assigns to an agent of the workspace and unassigns with null", async () => {
    const t = await h.signUp();
    const agent = await addAgent(h, t);
    const conv = await createConversation(h, t);
    const r = await h.call("POST", `/v1/conversations/${conv.id}/assign`, { token: t.token, body: { agent_id: agent } });
    expect(r.status).toBe(200);
    expect(r.body.assignee_id).toBe(agent);
    const ev = (await eventsOf(h, conv.id)).find((e) => e.type === "conversation.assigned");
    expect(ev?.data).toMatchObject({ from: null, to: agent });
    const un = await h.call("POST", `/v1/conversations/${conv.id}/assign`, { token: t.token, body: { agent_id: null } });
    expect(un.body.assignee_id).toBeNull();
  });

  it("422 for another workspace's agent or an unknown one, and for a missing agent_id", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const conv = await createConversation(h, t);
    for (const agent_id of [other.agentId, "agt_unknown"]) {
      const err = expectError(await h.call("POST", `/v1/conversations/${conv.id}/assign`, { token: t.token, body: { agent_id } }), 422, "validation_error");
      expect(err.details.fields.agent_id).toBeDefined();
    }
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/assign`, { token: t.token, body: {} }), 422, "validation_error");
  });
});

describe("conversation tags", () => {
  it("adds by name (creating the workspace tag), lists, removes by name or id", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const added = await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "Billing" } });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: "Billing", id: expect.stringMatching(/^tag_/) });
    const twice = await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "billing" } });
    expect(twice.status).toBe(200);
    expect(twice.body.id).toBe(added.body.id);
    await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "urgent" } });
    const listed = await h.call("GET", `/v1/conversations/${conv.id}/tags`, { token: t.token });
    expect(listed.body.data.map((x: any) => x.name)).toEqual(["Billing", "urgent"]);
    expect((await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token })).body.tags).toHaveLength(2);

    const byName = await h.call("DELETE", `/v1/conversations/${conv.id}/tags/BILLING`, { token: t.token });
    expect(byName.body).toEqual({ deleted: true, id: added.body.id });
    const urgentId = listed.body.data[1].id;
    expect((await h.call("DELETE", `/v1/conversations/${conv.id}/tags/${urgentId}`, { token: t.token })).status).toBe(200);
    expect((await h.call("GET", `/v1/conversations/${conv.id}/tags`, { token: t.token })).body.data).toEqual([]);
    expectError(await h.call("DELETE", `/v1/conversations/${conv.id}/tags/billing`, { token: t.token }), 404, "not_found");

    const types = (await eventsOf(h, conv.id)).map((e) => e.type);
    expect(types.filter((x) => x === "tag.added")).toHaveLength(2);
    expect(types.filter((x) => x === "tag.removed")).toHaveLength(2);
  });

  it("422 for an empty tag", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    const err = expectError(await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "  " } }), 422, "validation_error");
    expect(err.details.fields.tag).toBeDefined();
  });
});

describe("DELETE /v1/conversations/{id}", () => {
  it("deletes with its messages and records the event", async () => {
    const t = await h.signUp();
    const conv = await createConversation(h, t);
    await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { content: "hi", sender_type: "contact" } });
    const r = await h.call("DELETE", `/v1/conversations/${conv.id}`, { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ deleted: true, id: conv.id });
    expectError(await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/conversations/${conv.id}`, { token: t.token }), 404, "not_found");
    expect((await eventsOf(h, conv.id)).map((e) => e.type)).toContain("conversation.deleted");
  });
});
