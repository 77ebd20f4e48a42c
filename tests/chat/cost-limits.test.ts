// What a workspace may spend on the model: assistants may only name allowed models, a reply
// asks for at most MAX_COMPLETION_TOKENS, suggestions need the write scope, and once the day's
// AI token budget (per plan) is spent every AI feature answers 429 ai_token_budget and stores nothing.
import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { MAX_COMPLETION_TOKENS } from "../../lib/ai-limits";
import { PLANS } from "../../lib/plans";
import { conversations, llmUsage, messages } from "../../schema";
import { startFakeOpenAI } from "../support/fake-openai";
import { createHarness, expectError } from "../support/harness";
import { settledSummary } from "../summaries/helpers";
import { createAssistant, createKey } from "./helpers";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
const h = await createHarness({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_ALLOWED_MODELS: "fake-gpt,fake-mini", OPENAI_MAX_RETRIES: "0", OPENAI_TIMEOUT_MS: "2000" });
const today = () => new Date().toISOString().slice(0, 10);
const completionCalls = () => fake.requests.filter((r) => r.path.endsWith("/chat/completions"));

beforeEach(() => {
  fake.reset();
  fake.setDefault({});
});

describe("AI cost limits", () => {
  it("an assistant may only name an allowed model (422 lists them); null is the default", async () => {
    const t = await h.signUp();
    const err = expectError(await h.call("POST", "/v1/assistants", { token: t.token, body: { name: "x", instructions: "y", model: "o1-pro" } }), 422, "validation_error");
    expect(err.details?.allowed_models).toEqual(["fake-gpt", "fake-mini"]);
    expect(err.details?.fields?.model?.[0]).toMatch(/fake-gpt, fake-mini/);
    const a = await createAssistant(h, t.token, { model: "fake-mini" });
    expectError(await h.call("PATCH", `/v1/assistants/${a.id}`, { token: t.token, body: { model: "gpt-4.5-preview" } }), 422, "validation_error");
    expect((await h.call("PATCH", `/v1/assistants/${a.id}`, { token: t.token, body: { model: null } })).body.model).toBeNull();
  });

  it("caps max_tokens: over the cap is 422, and a request without it is sent with the cap", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const key = await createKey(h, t.token);
    const url = `/v1/openai/${a.id}/chat/completions`;
    const body = { messages: [{ role: "user", content: "hi" }] };
    for (const field of ["max_tokens", "max_completion_tokens"]) {
      const r = await h.call("POST", url, { headers: { authorization: `Bearer ${key}` }, body: { ...body, [field]: 1_000_000 } });
      expect(expectError(r, 422, "validation_error").details?.fields).toHaveProperty(field);
    }
    expect(completionCalls()).toHaveLength(0);
    expect((await h.call("POST", url, { headers: { authorization: `Bearer ${key}` }, body })).status).toBe(200);
    const sent = completionCalls()[0]!.body;
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBe(MAX_COMPLETION_TOKENS);
  });

  it("a read-only key cannot ask for (paid) reply suggestions; a write key can", async () => {
    const t = await h.signUp();
    const conv = (await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "q", source: "api" } })).body;
    await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { sender_type: "contact", content: "Where is my order?" } });
    const reader = await createKey(h, t.token, ["read"]);
    expectError(await h.call("GET", `/v1/conversations/${conv.id}/suggest`, { headers: { "x-api-key": reader } }), 403, "forbidden");
    expectError(await h.call("GET", `/v1/ai-suggest?conversation_id=${conv.id}`, { headers: { "x-api-key": reader } }), 403, "forbidden");
    expect(completionCalls()).toHaveLength(0);
    const writer = await createKey(h, t.token, ["read", "write"]);
    expect((await h.call("GET", `/v1/conversations/${conv.id}/suggest`, { headers: { "x-api-key": writer } })).status).toBe(200);
  });

  it("once the day's token budget is spent, suggest, stream, polling chat and the OpenAI endpoint answer 429 and store nothing; summaries fail with the reason", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const a = await createAssistant(h, t.token);
    const conv = (await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "q", source: "api" } })).body;
    await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { sender_type: "contact", content: "Where is my order?" } });
    const started = (await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id } })).body;
    await h.services.db.insert(llmUsage).values({ workspaceId: t.workspaceId, day: today(), model: "fake-gpt", promptTokens: PLANS.free.aiTokensPerDay - 10, completionTokens: 10, requests: 1 });
    const messagesBefore = (await h.services.db.select().from(messages).where(eq(messages.workspaceId, t.workspaceId))).length;
    const conversationsBefore = (await h.services.db.select().from(conversations).where(eq(conversations.workspaceId, t.workspaceId))).length;

    const refusals = [
      await h.call("GET", `/v1/conversations/${conv.id}/suggest`, { token: t.token }),
      await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "hello", assistant_id: a.id } }),
      await h.call("POST", `/v1/chat/${started.session_id}/message`, { token: t.token, body: { message: "hello" } }),
      await h.call("POST", `/v1/openai/${a.id}/chat/completions`, { token: t.token, body: { messages: [{ role: "user", content: "hi" }] } }),
    ];
    for (const r of refusals) {
      const err = expectError(r, 429, "rate_limit_exceeded");
      expect(err.details).toMatchObject({ reason: "ai_token_budget", limit: PLANS.free.aiTokensPerDay });
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(completionCalls()).toHaveLength(0);
    expect((await h.services.db.select().from(messages).where(eq(messages.workspaceId, t.workspaceId))).length).toBe(messagesBefore);
    expect((await h.services.db.select().from(conversations).where(eq(conversations.workspaceId, t.workspaceId))).length).toBe(conversationsBefore);

    const s = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: {} });
    expect(s.status).toBe(202);
    const settled = await settledSummary(h, t, s.body.id);
    expect(settled).toMatchObject({ status: "failed" });
    expect(settled.error).toMatch(/daily AI budget/);
    expect(completionCalls()).toHaveLength(0);

    // Another workspace's budget is its own.
    const theirs = (await h.call("POST", "/v1/conversations", { token: other.token, body: { title: "q", source: "api" } })).body;
    await h.call("POST", `/v1/conversations/${theirs.id}/messages`, { token: other.token, body: { sender_type: "contact", content: "Hi" } });
    expect((await h.call("GET", `/v1/conversations/${theirs.id}/suggest`, { token: other.token })).status).toBe(200);
  });
});
