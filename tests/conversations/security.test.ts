// Tenancy and auth: another workspace's conversations are 404 on every read, change and
// delete, absent from every list and filter; no credentials is 401; read-only keys cannot write.
import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { expectInvisible } from "../support/tenancy";
import { addAgent, apiKey, createConversation, seedAssistant, seedChannel, seedContact, seedSession } from "./fixtures";

const h = await createHarness();

const owner = await h.signUp();
const intruder = await h.signUp();
const ownerAgent = await addAgent(h, owner);
const ct = await seedContact(h, owner);
const ses = await seedSession(h, owner, ct);
const chSec = await seedChannel(h, owner, "web");
const astSec = await seedAssistant(h, owner);
const conv = await createConversation(h, owner, { source: "web", contact_id: ct, session_id: ses, channel_id: chSec, assistant_id: astSec, content: "secret" });
await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: owner.token, body: { tag: "secret-tag" } });
await h.call("POST", `/v1/conversations/${conv.id}/assign`, { token: owner.token, body: { agent_id: ownerAgent } });
const msg = (await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: owner.token, body: { content: "private", sender_type: "contact" } })).body;
// The intruder has a conversation of its own, so its lists are not trivially empty.
const mine = await createConversation(h, intruder, { title: "mine" });
await h.call("POST", `/v1/conversations/${mine.id}/tags`, { token: intruder.token, body: { tag: "secret-tag" } });

const routes = (id: string) => [
  { method: "GET", path: `/v1/conversations/${id}` },
  { method: "PATCH", path: `/v1/conversations/${id}`, body: { title: "hacked" } },
  { method: "DELETE", path: `/v1/conversations/${id}` },
  { method: "POST", path: `/v1/conversations/${id}/status`, body: { status: "closed" } },
  { method: "POST", path: `/v1/conversations/${id}/assign`, body: { agent_id: null } },
  { method: "GET", path: `/v1/conversations/${id}/tags` },
  { method: "POST", path: `/v1/conversations/${id}/tags`, body: { tag: "x" } },
  { method: "DELETE", path: `/v1/conversations/${id}/tags/secret-tag` },
  { method: "GET", path: `/v1/conversations/${id}/messages` },
  { method: "POST", path: `/v1/conversations/${id}/messages`, body: { content: "hi", sender_type: "agent" } },
];

describe("conversations security", () => {
  it("401 without credentials on every route", async () => {
    for (const r of [...routes(conv.id), { method: "GET", path: "/v1/conversations" }, { method: "POST", path: "/v1/conversations", body: { title: "x" } }, { method: "POST", path: "/v1/messages/capture", body: { messages: [] } }]) {
      expectError(await h.call(r.method, r.path, { body: r.body }), 401, "unauthorized");
    }
    expectError(await h.call("GET", "/v1/conversations", { token: "not-a-jwt" }), 401, "unauthorized");
    expectError(await h.call("GET", "/v1/conversations", { headers: { "x-api-key": "pk_forged" } }), 401, "unauthorized");
  });

  it("another workspace's conversation is 404 for every read, change and delete, and changes nothing", async () => {
    await expectInvisible(h, intruder, routes(conv.id));
    const still = await h.call("GET", `/v1/conversations/${conv.id}`, { token: owner.token });
    expect(still.body).toMatchObject({ title: conv.title, status: "open", assignee_id: ownerAgent, unread_count: 1 });
    expect(still.body.tags.map((t: any) => t.name)).toEqual(["secret-tag"]);
    expect((await h.call("GET", `/v1/conversations/${conv.id}/messages`, { token: owner.token })).body.data).toHaveLength(1);
  });

  it("is absent from every list and every filter, even when filtering by the other tenant's ids", async () => {
    await expectInvisible(
      h,
      intruder,
      [
        "",
        "?tag=secret-tag",
        `?contact_id=${ct}`,
        `?assignee_id=${ownerAgent}`,
        `?channel_id=${chSec}`,
        `?assistant_id=${astSec}`,
        "?search=secret",
        "?processing_status=processing",
        "?status=open&sort=-last_message_at",
      ].map((qs) => ({ list: `/v1/conversations${qs}`, absent: conv.id })),
    );
    for (const qs of [`contact_id=${ct}`, `assignee_id=${ownerAgent}`, `channel_id=${chSec}`, "search=secret"]) {
      expect((await h.call("GET", `/v1/conversations?${qs}`, { token: intruder.token })).body.meta.total).toBe(0);
    }
    // The intruder's own tagged conversation is found; the owner's is not.
    const tagged = await h.call("GET", "/v1/conversations?tag=secret-tag", { token: intruder.token });
    expect(tagged.body.data.map((c: any) => c.id)).toEqual([mine.id]);
  });

  it("another workspace's contact, session and agent cannot be referenced (422), and capture cannot reach them", async () => {
    for (const [body, field] of [
      [{ title: "x", contact_id: ct }, "contact_id"],
      [{ title: "x", session_id: ses }, "session_id"],
    ] as const) {
      const err = expectError(await h.call("POST", "/v1/conversations", { token: intruder.token, body }), 422, "validation_error");
      expect(err.details.fields[field]).toBeDefined();
    }
    const err = expectError(await h.call("POST", `/v1/conversations/${mine.id}/assign`, { token: intruder.token, body: { agent_id: ownerAgent } }), 422, "validation_error");
    expect(err.details.fields.agent_id).toBeDefined();
    const cap = expectError(
      await h.call("POST", "/v1/messages/capture", {
        token: intruder.token,
        body: {
          messages: [
            { conversation_id: conv.id, source: "api", sender_type: "contact", content: "x" },
            { session_id: ses, source: "api", sender_type: "contact", content: "x" },
            { contact_id: ct, source: "api", sender_type: "contact", content: "x" },
          ],
        },
      }),
      422,
      "validation_error",
    );
    expect(Object.keys(cap.details.fields).sort()).toEqual(["messages.0.conversation_id", "messages.1.session_id", "messages.2.contact_id"]);
  });

  it("an external_id used by another workspace is not a duplicate and reveals nothing", async () => {
    const ext = `sec-${conv.id}`;
    await h.call("POST", "/v1/messages/capture", { token: owner.token, body: { messages: [{ conversation_id: conv.id, source: "api", sender_type: "contact", content: "a", external_id: ext }] } });
    const r = await h.call("POST", "/v1/messages/capture", {
      token: intruder.token,
      body: { messages: [{ conversation_id: mine.id, source: "api", sender_type: "contact", content: "a", external_id: ext }] },
    });
    expect(r.body).toMatchObject({ captured: 1, duplicates: 0 });
    expect(r.body.items[0].id).not.toBe(msg.id);
    expect(r.body.items[0].conversation_id).toBe(mine.id);
  });

  it("a read-only API key may read but not write (403)", async () => {
    const key = await apiKey(h, owner, ["read"]);
    const headers = { "x-api-key": key };
    expect((await h.call("GET", "/v1/conversations", { headers })).status).toBe(200);
    expect((await h.call("GET", `/v1/conversations/${conv.id}`, { headers })).status).toBe(200);
    expectError(await h.call("POST", "/v1/conversations", { headers, body: { title: "x" } }), 403, "forbidden");
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/messages`, { headers, body: { content: "x", sender_type: "agent" } }), 403, "forbidden");
    expectError(await h.call("DELETE", `/v1/conversations/${conv.id}`, { headers }), 403, "forbidden");
  });
});
