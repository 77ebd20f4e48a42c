// Reply suggestions: GET /v1/conversations/{id}/suggest (answered by the chat function, not the
// conversations one) and GET /v1/ai-suggest, offline and against the fake OpenAI server; the
// assistant whose instructions are used; tenancy, 409 and 503. Also the registry's pattern route
// and the service binding the edge forwards it through.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { Suggestion } from "../../functions/chat/suggest";
import { route } from "../../functions/registry";
import { functions } from "../../functions/registry";
import { edgeOptions, serviceBindingName, wranglerConfig } from "../../scripts/wrangler-toml";
import { FAKE_MODEL, startFakeOpenAI } from "../support/fake-openai";
import { createHarness, expectError } from "../support/harness";
import { newConversation, send } from "./helpers";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
const offline = await createHarness();
const online = await createHarness({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: FAKE_MODEL, OPENAI_MAX_RETRIES: "0", OPENAI_TIMEOUT_MS: "400" });

beforeEach(() => {
  fake.reset();
  fake.setDefault({});
});

describe("routing", () => {
  it("the suggest path goes to chat; the rest of /v1/conversations and /v1/summaries to conversations", () => {
    expect(route("/v1/conversations/conv_1/suggest")?.name).toBe("chat");
    expect(route("/v1/ai-suggest")?.name).toBe("chat");
    expect(route("/v1/conversations/conv_1")?.name).toBe("conversations");
    expect(route("/v1/conversations/suggest")?.name).toBe("conversations");
    expect(route("/v1/conversations/conv_1/suggest/more")?.name).toBe("conversations");
    expect(route("/v1/conversations/conv_1/summaries")?.name).toBe("conversations");
    expect(route("/v1/summaries/sum_1")?.name).toBe("conversations");
  });

  it("at the edge, conversations (which receives /v1/conversations/*) has a service binding to chat", () => {
    const cfg = wranglerConfig(functions, edgeOptions());
    // (and one to files, for /v1/conversations/{id}/attachments)
    expect(cfg.env.conversations!.services).toEqual([
      { binding: serviceBindingName("chat"), service: "parley-chat" },
      { binding: serviceBindingName("files"), service: "parley-files" },
    ]);
    expect(cfg.env.chat!.services).toBeUndefined();
  });

  it("the conversations Worker forwards the suggest path through FN_CHAT and keeps everything else", async () => {
    const { default: worker } = await import("../../functions/conversations/index");
    const seen: string[] = [];
    const FN_CHAT = {
      fetch: async (req: Request) => {
        seen.push(new URL(req.url).pathname);
        return new Response("from chat", { status: 299 });
      },
    };
    const ctx = { waitUntil() {}, passThroughOnException() {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request("https://api.parley.example/v1/conversations/conv_1/suggest"), { FN_CHAT } as never, ctx);
    expect(res.status).toBe(299);
    expect(seen).toEqual(["/v1/conversations/conv_1/suggest"]);
    // Anything else is the conversations app's (here: refused for want of bindings, not forwarded).
    const own = await worker.fetch(new Request("https://api.parley.example/v1/conversations/conv_1/summaries"), { FN_CHAT } as never, ctx);
    expect(own.status).not.toBe(299);
    expect(seen).toHaveLength(1);
  });
});

describe("GET /v1/conversations/{id}/suggest (offline)", () => {
  it("quotes the workspace's assistant knowledge, says it is parley-offline; the alias answers the same", async () => {
    const t = await offline.signUp();
    const a = await offline.call("POST", "/v1/assistants", { token: t.token, body: { name: "Support", instructions: "Be kind.", knowledge: "Refunds are processed within 5 business days." } });
    expect(a.status).toBe(201);
    const conv = await newConversation(offline, t);
    await send(offline, t, conv.id, "contact", "When will my refund arrive?");
    const r = await offline.call("GET", `/v1/conversations/${conv.id}/suggest`, { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect(Suggestion.parse(r.body).model).toBe("parley-offline");
    expect(r.body.suggestion).toContain("Refunds are processed within 5 business days.");
    expect(r.body.suggestion).toMatch(/offline/);
    const alias = await offline.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { token: t.token });
    expect(alias.status).toBe(200);
    expect(alias.body).toEqual(r.body);
  });

  it("uses the content when there are no messages; 409 when there is nothing at all", async () => {
    const t = await offline.signUp();
    const withContent = await newConversation(offline, t, { content: "Where is my parcel?" });
    const r = await offline.call("GET", `/v1/conversations/${withContent.id}/suggest`, { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body.suggestion).toMatch(/parcel/);
    const empty = await newConversation(offline, t);
    expectError(await offline.call("GET", `/v1/conversations/${empty.id}/suggest`, { token: t.token }), 409, "conflict");
  });

  it("401 without credentials, 404 for another workspace's or an unknown conversation, 400 without conversation_id", async () => {
    const t = await offline.signUp();
    const other = await offline.signUp();
    const conv = await newConversation(offline, t, { content: "Hello" });
    expectError(await offline.call("GET", `/v1/conversations/${conv.id}/suggest`), 401, "unauthorized");
    expectError(await offline.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`), 401, "unauthorized");
    expectError(await offline.call("GET", `/v1/conversations/${conv.id}/suggest`, { token: other.token }), 404, "not_found");
    expectError(await offline.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { token: other.token }), 404, "not_found");
    expectError(await offline.call("GET", "/v1/conversations/conv_nope/suggest", { token: t.token }), 404, "not_found");
    expectError(await offline.call("GET", "/v1/ai-suggest", { token: t.token }), 400, "bad_request");
  });
});

describe("GET /v1/conversations/{id}/suggest (OpenAI-compatible)", () => {
  it("sends the conversation's assistant's instructions and the messages; answers the model's text and model", async () => {
    const t = await online.signUp();
    await online.call("POST", "/v1/assistants", { token: t.token, body: { name: "First", instructions: "FIRST-ASSISTANT" } });
    const own = await online.call("POST", "/v1/assistants", { token: t.token, body: { name: "Own", instructions: "OWN-ASSISTANT", knowledge: "Shipping is free over 50 euros." } });
    const conv = await newConversation(online, t, { assistant_id: own.body.id });
    await send(online, t, conv.id, "contact", "Is shipping free?");
    await send(online, t, conv.id, "note", "private note");
    fake.enqueue({ text: "Yes, shipping is free over 50 euros." });
    const r = await online.call("GET", `/v1/conversations/${conv.id}/suggest`, { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ suggestion: "Yes, shipping is free over 50 euros.", model: FAKE_MODEL });
    const body = fake.requests.at(-1)!.body;
    expect(body.messages[0].role).toBe("system");
    expect(body.messages[0].content).toContain("OWN-ASSISTANT");
    expect(body.messages[0].content).toContain("Shipping is free over 50 euros.");
    expect(body.messages.slice(1)).toEqual([{ role: "user", content: "Is shipping free?" }]);
  });

  it("without an assistant on the conversation, the workspace's first; without any, neutral instructions", async () => {
    const t = await online.signUp();
    // Messages, not content: content would start a summary job calling the same fake server.
    const conv = await newConversation(online, t);
    await send(online, t, conv.id, "contact", "Hi there");
    expect((await online.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { token: t.token })).status).toBe(200);
    expect(fake.requests.at(-1)!.body.messages[0].content).toMatch(/customer-support assistant/);
    await online.call("POST", "/v1/assistants", { token: t.token, body: { name: "First", instructions: "FIRST-ASSISTANT" } });
    await online.call("POST", "/v1/assistants", { token: t.token, body: { name: "Second", instructions: "SECOND-ASSISTANT" } });
    expect((await online.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { token: t.token })).status).toBe(200);
    expect(fake.requests.at(-1)!.body.messages[0].content).toContain("FIRST-ASSISTANT");
  });

  it("503 when the provider fails or times out", async () => {
    const t = await online.signUp();
    const conv = await newConversation(online, t);
    await send(online, t, conv.id, "contact", "Hi");
    fake.enqueue({ status: 500 });
    expectError(await online.call("GET", `/v1/conversations/${conv.id}/suggest`, { token: t.token }), 503, "service_unavailable");
    fake.enqueue({ hang: true });
    expectError(await online.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { token: t.token }), 503, "service_unavailable");
  });
});
