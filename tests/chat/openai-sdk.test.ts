// The OpenAI-compatible endpoint, exercised with the official `openai` npm SDK against a real
// local server (HTTP on a loopback port): non-streaming, streaming, errors as the SDK's own
// exception classes — on the fake OpenAI upstream and on the offline provider.
import { eq } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { startServer } from "../../lib/local/server";
import { contacts, conversations, messages } from "../../schema";
import { startFakeOpenAI } from "../support/fake-openai";
import { eventually } from "./helpers";

const fake = await startFakeOpenAI();
const env = { OPENAI_API_KEY: "sk-upstream", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_MAX_RETRIES: "0", OPENAI_TIMEOUT_MS: "500", RATE_LIMIT_PER_MINUTE: "100000" };
const server = await startServer({ dataDir: null, port: 0, env, environment: "test" });
const offlineServer = await startServer({ dataDir: null, port: 0, env: { RATE_LIMIT_PER_MINUTE: "100000" }, environment: "test" });
afterAll(async () => {
  await server.close();
  await offlineServer.close();
  await fake.close();
});
beforeEach(() => fake.reset());

async function api(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A workspace with an assistant and an API key, on `base`. */
async function tenant(base: string) {
  const email = `o-${Math.random().toString(36).slice(2)}@example.com`;
  const su = await api(base, "POST", "/v1/workspaces", undefined, { name: "WS", owner: { name: "O", email, password: "s3cret-password" } });
  const token = su.body.access_token as string;
  const key = (await api(base, "POST", "/v1/api-keys", token, { name: "sdk" })).body.key as string;
  const assistant = (await api(base, "POST", "/v1/assistants", token, { name: "Bot", instructions: "You are Acme's bot.", knowledge: "Refunds are processed within 5 business days." })).body;
  return { key, assistant, workspaceId: su.body.workspace.id as string };
}

const sdk = (base: string, assistantId: string, apiKey: string) => new OpenAI({ baseURL: `${base}/v1/openai/${assistantId}`, apiKey, maxRetries: 0 });

describe("OpenAI-compatible endpoint with the openai SDK (fake upstream)", () => {
  it("answers a chat.completion and keeps the call as a conversation", async () => {
    const t = await tenant(server.url);
    fake.enqueue({ text: "Five business days.", usage: { prompt_tokens: 20, completion_tokens: 4 } });
    const client = sdk(server.url, t.assistant.id, t.key);
    const r = await client.chat.completions.create({ model: "whatever", messages: [{ role: "user", content: "How long do refunds take?" }], temperature: 0.1, user: "buyer@example.com" });
    expect(r.object).toBe("chat.completion");
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(typeof r.created).toBe("number");
    expect(r.model).toBe("fake-gpt");
    expect(r.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Five business days.", refusal: null }, logprobs: null, finish_reason: "stop" }]);
    expect(r.usage).toEqual({ prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 });

    const upstream = fake.requests[0]!.body;
    expect(upstream.messages[0].role).toBe("system");
    expect(upstream.messages[0].content).toContain("You are Acme's bot.");
    expect(upstream.messages[0].content).toContain("Refunds are processed");
    expect(upstream.messages.at(-1)).toEqual({ role: "user", content: "How long do refunds take?" });
    expect(upstream).toMatchObject({ model: "fake-gpt", temperature: 0.1 });

    const { db } = server.services;
    const [ct] = await db.select().from(contacts).where(eq(contacts.email, "buyer@example.com"));
    expect(ct!.workspaceId).toBe(t.workspaceId);
    const [conv] = await db.select().from(conversations).where(eq(conversations.contactId, ct!.id));
    expect(conv).toMatchObject({ source: "api", assistantId: t.assistant.id, messageCount: 2, title: "How long do refunds take?" });
    const msgs = await db.select().from(messages).where(eq(messages.conversationId, conv!.id)).orderBy(messages.createdAt);
    expect(msgs.map((m) => [m.senderType, m.content])).toEqual([
      ["contact", "How long do refunds take?"],
      ["assistant", "Five business days."],
    ]);
  });

  it("streams chat.completion.chunk events the SDK iterates, with usage when asked", async () => {
    const t = await tenant(server.url);
    fake.enqueue({ text: "one two three", usage: { prompt_tokens: 9, completion_tokens: 3 } });
    const stream = await sdk(server.url, t.assistant.id, t.key).chat.completions.create({
      model: "x",
      messages: [
        { role: "system", content: "Extra rule." },
        { role: "user", content: "count" },
        { role: "assistant", content: "ok" },
        { role: "user", content: [{ type: "text", text: "go on" }] },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toMatchObject({ role: "assistant", content: "" });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("one two three");
    const finish = chunks.findLast((c) => c.choices.length)!;
    expect(finish.choices[0]).toMatchObject({ finish_reason: "stop", delta: {} });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });
    // The client's own system message follows the assistant's; a content array is read as text.
    expect(fake.requests[0]!.body.messages.map((m: { role: string }) => m.role)).toEqual(["system", "system", "user", "assistant", "user"]);
    expect(fake.requests[0]!.body.messages.at(-1).content).toBe("go on");

    const plain = await sdk(server.url, t.assistant.id, t.key).chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], stream: true });
    const got: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of plain) got.push(c);
    expect(got.some((c) => c.usage)).toBe(false);
  });

  it("raises the SDK's own errors: NotFoundError, AuthenticationError, UnprocessableEntityError, InternalServerError", async () => {
    const t = await tenant(server.url);
    const other = await tenant(server.url);
    const err = await sdk(server.url, "ast_unknown", t.key)
      .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ code: "not_found", type: "invalid_request_error", param: null });
    expect(typeof (err as { error: { request_id: string } }).error.request_id).toBe("string");
    // Another workspace's assistant is not found either.
    await expect(sdk(server.url, other.assistant.id, t.key).chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const bad = await sdk(server.url, t.assistant.id, "pk_live_wrong")
      .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((bad as { error: { type: string } }).error.type).toBe("authentication_error");

    const invalid = await sdk(server.url, t.assistant.id, t.key)
      .chat.completions.create({ model: "x", messages: [{ role: "wizard", content: "hi" }] as never, temperature: 9 })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((invalid as { error: { param: string; details: { fields: Record<string, string[]> } } }).error.param).toMatch(/^messages|temperature/);
    expect(Object.keys((invalid as { error: { details: { fields: object } } }).error.details.fields).sort()).toEqual(["messages.0.role", "temperature"]);

    fake.enqueue({ status: 500 });
    const down = await sdk(server.url, t.assistant.id, t.key)
      .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(OpenAI.InternalServerError);
    expect((down as { status: number }).status).toBe(503);
    expect((down as { error: { code: string; type: string } }).error).toMatchObject({ code: "service_unavailable", type: "server_error" });
  });

  it("times out as 503 when not streaming, and as an in-stream error the SDK raises when streaming", async () => {
    const t = await tenant(server.url);
    fake.enqueue({ hang: true });
    const slow = await sdk(server.url, t.assistant.id, t.key)
      .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect((slow as { status: number }).status).toBe(503);

    fake.enqueue({ text: "a b c d", failAfter: { chunks: 2, how: "hang" } });
    const stream = await sdk(server.url, t.assistant.id, t.key).chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], stream: true });
    const seen: string[] = [];
    const mid = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta?.content ?? "");
    })().catch((e: unknown) => e);
    expect(mid).toBeInstanceOf(OpenAI.APIError);
    expect((mid as { error: { code: string } }).error.code).toBe("service_unavailable");
    expect(seen.join("")).toBe("a b ");
  });

  it("stores a streamed reply as incomplete when the client aborts mid-stream", async () => {
    const t = await tenant(server.url);
    fake.enqueue({ chunks: 300, chunkDelayMs: 10 });
    const stream = await sdk(server.url, t.assistant.id, t.key).chat.completions.create({ model: "x", messages: [{ role: "user", content: "long" }], stream: true, user: "aborter-1" });
    let n = 0;
    for await (const _c of stream) if (++n >= 5) break; // break aborts the HTTP request
    const { db } = server.services;
    const [ct] = await db.select().from(contacts).where(eq(contacts.workspaceId, t.workspaceId));
    const [conv] = await db.select().from(conversations).where(eq(conversations.contactId, ct!.id));
    const reply = await eventually(async () => (await db.select().from(messages).where(eq(messages.conversationId, conv!.id))).find((m) => m.senderType === "assistant"), "stored reply");
    expect(reply.status).toBe("incomplete");
    expect(reply.content.length).toBeGreaterThan(0);
    await eventually(async () => fake.open() === 0, "upstream closed");
  });
});

describe("OpenAI-compatible endpoint on the offline provider", () => {
  it("answers with parley-offline, quoting the knowledge, streaming too", async () => {
    const t = await tenant(offlineServer.url);
    const client = sdk(offlineServer.url, t.assistant.id, t.key);
    const r = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "How long do refunds take?" }] });
    expect(r.model).toBe("parley-offline");
    expect(r.choices[0]!.message.content).toContain("Refunds are processed within 5 business days.");
    expect(r.choices[0]!.message.content).toContain("offline assistant");
    expect(r.usage!.completion_tokens).toBe(Math.ceil(r.choices[0]!.message.content!.length / 4));
    const s = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "refunds?" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? "";
      usage = c.usage ?? usage;
    }
    expect(text).toContain("Refunds are processed");
    expect(usage!.completion_tokens).toBe(Math.ceil(text.length / 4));
  });
});
