// The polling chat: start, message (202 + background reply), task poll, session poll — on the
// offline provider and on the fake OpenAI server — with failures and tenancy.
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { Started, TaskPoll } from "../../functions/chat/schemas";
import { contacts, conversations, sessions } from "../../schema";
import { startFakeOpenAI } from "../support/fake-openai";
import { createHarness, expectError, type Harness } from "../support/harness";
import { createAssistant, eventually } from "./helpers";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
const offline = await createHarness();
// No test here waits for the model deadline (the failure is a 503), so a loaded host's slow first call must not hit it.
const online = await createHarness({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: fake.url, OPENAI_MAX_RETRIES: "0", OPENAI_TIMEOUT_MS: "10000" });

async function waitTask(h: Harness, token: string, sessionId: string, taskId: string) {
  return eventually(async () => {
    const r = await h.call("GET", `/v1/chat/${sessionId}/${taskId}/poll`, { token });
    expect(r.status).toBe(200);
    return r.body.status !== "processing" ? TaskPoll.parse(r.body) : null;
  }, "task to finish");
}

describe.each([
  ["offline", offline],
  ["fake OpenAI", online],
])("polling chat on the %s provider", (_name, h) => {
  it("starts, answers in the background, and polls task and session", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const s = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "+1 (555) 010-2000", name: "Pat" } } });
    expect(s.status).toBe(201);
    const started = Started.parse(s.body);
    const [ct] = await h.services.db.select().from(contacts).where(eq(contacts.id, started.contact_id!));
    expect(ct).toMatchObject({ phone: "+15550102000", name: "Pat", workspaceId: t.workspaceId });
    const [ses] = await h.services.db.select().from(sessions).where(eq(sessions.id, started.session_id));
    expect(ses).toMatchObject({ contactId: ct!.id, source: "chat" });

    const m = await h.call("POST", `/v1/chat/${started.session_id}/message`, { token: t.token, body: { message: "How long do refunds take?" } });
    expect(m.status).toBe(202);
    expect(m.body).toEqual({ task_id: expect.stringMatching(/^task_/), status: "processing" });
    const done = await waitTask(h, t.token, started.session_id, m.body.task_id);
    expect(done.status).toBe("complete");
    expect(done.message).toMatchObject({ sender_type: "assistant", status: "complete", conversation_id: started.conversation_id });
    expect(done.message!.content.length).toBeGreaterThan(0);

    const all = await h.call("GET", `/v1/chat/${started.session_id}/poll`, { token: t.token });
    expect(all.status).toBe(200);
    expect(all.body.data.map((x: { sender_type: string }) => x.sender_type)).toEqual(["contact", "assistant"]);
    expect(all.body.next_since).toBe(all.body.data[1].created_at);
    const none = await h.call("GET", `/v1/chat/${started.session_id}/poll?since=${encodeURIComponent(all.body.next_since)}`, { token: t.token });
    expect(none.body).toEqual({ data: [], next_since: null });

    const m2 = await h.call("POST", `/v1/chat/${started.session_id}/message`, { token: t.token, body: { message: "Thanks!" } });
    await waitTask(h, t.token, started.session_id, m2.body.task_id);
    const newer = await h.call("GET", `/v1/chat/${started.session_id}/poll?since=${encodeURIComponent(all.body.next_since)}`, { token: t.token });
    expect(newer.body.data.map((x: { content: string; sender_type: string }) => x.sender_type)).toEqual(["contact", "assistant"]);
    expect(newer.body.data[0].content).toBe("Thanks!");
    const [conv] = await h.services.db.select().from(conversations).where(eq(conversations.id, started.conversation_id));
    expect(conv).toMatchObject({ messageCount: 4, source: "chat", assistantId: a.id, sessionId: started.session_id });
  });

  it("finds the same contact by identifier, and works without a contact", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const one = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "Sam@Example.com" } } });
    const two = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "sam@example.com" } } });
    expect(two.body.contact_id).toBe(one.body.contact_id);
    expect(two.body.session_id).not.toBe(one.body.session_id);
    const opaque1 = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "user-42" } } });
    const opaque2 = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier: "user-42" } } });
    expect(opaque2.body.contact_id).toBe(opaque1.body.contact_id);
    const anon = await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id } });
    expect(anon.status).toBe(201);
    expect(anon.body.contact_id).toBeNull();
  });

  it("concurrent first chats of one visitor make one contact, per workspace", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const a = await createAssistant(h, t.token);
    const b = await createAssistant(h, other.token);
    for (const identifier of ["visitor-7f3a", "kim@example.com", "+44 20 7946 0018"]) {
      const starts = await Promise.all(
        Array.from({ length: 6 }, () => h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id, contact: { identifier } } })),
      );
      expect(starts.map((s) => s.status)).toEqual(Array(6).fill(201));
      expect(new Set(starts.map((s) => s.body.contact_id)).size).toBe(1);
      const elsewhere = await h.call("POST", "/v1/chat/start", { token: other.token, body: { assistant_id: b.id, contact: { identifier } } });
      expect(elsewhere.body.contact_id).not.toBe(starts[0]!.body.contact_id);
    }
    const contacts = await h.call("GET", "/v1/contacts?per_page=100", { token: t.token });
    expect(contacts.body.meta.total).toBe(3);
  });
});

describe("polling chat errors and tenancy", () => {
  const h = online;
  it("reports a failed reply as error, with the user message kept", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const s = (await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id } })).body;
    fake.enqueue({ status: 503 });
    const m = await h.call("POST", `/v1/chat/${s.session_id}/message`, { token: t.token, body: { message: "hello" } });
    const done = await waitTask(h, t.token, s.session_id, m.body.task_id);
    expect(done.status).toBe("error");
    expect(done.error).toMatchObject({ code: "service_unavailable" });
    const msgs = (await h.call("GET", `/v1/chat/${s.session_id}/poll`, { token: t.token })).body.data;
    expect(msgs[0]).toMatchObject({ sender_type: "contact", content: "hello" });
  });

  it("validates (422 fields, 400 query) and 404s on unknown or foreign ids", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const a = await createAssistant(h, other.token);
    const s = (await h.call("POST", "/v1/chat/start", { token: other.token, body: { assistant_id: a.id } })).body;
    const m = (await h.call("POST", `/v1/chat/${s.session_id}/message`, { token: other.token, body: { message: "mine" } })).body;

    const e = expectError(await h.call("POST", "/v1/chat/start", { token: t.token, body: { contact: { identifier: "" } } }), 422, "validation_error");
    expect(Object.keys(e.details.fields).sort()).toEqual(["assistant_id", "contact.identifier"]);
    expectError(await h.call("POST", `/v1/chat/${s.session_id}/message`, { token: t.token, body: { message: 7 } }), 422, "validation_error");
    expectError(await h.call("GET", `/v1/chat/${s.session_id}/poll?since=yesterday`, { token: t.token }), 400, "bad_request");

    expectError(await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id } }), 404, "not_found");
    expectError(await h.call("POST", `/v1/chat/${s.session_id}/message`, { token: t.token, body: { message: "hi" } }), 404, "not_found");
    expectError(await h.call("GET", `/v1/chat/${s.session_id}/${m.task_id}/poll`, { token: t.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/chat/${s.session_id}/poll`, { token: t.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/chat/${s.session_id}/task_nope/poll`, { token: other.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/chat/${s.session_id}/poll`), 401, "unauthorized");
    await waitTask(h, other.token, s.session_id, m.task_id);
  });
});
