// lib/llm against the fake OpenAI server (real SDK, real wire format) and the offline provider.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Llm, LlmError, llmFromEnv, openaiLlm, strictJsonSchema, systemPrompt } from "../../lib/llm";
import { actionItems, analyze, OFFLINE_MODEL, offlineLlm, sentiment, topics } from "../../lib/llm-offline";
import { FAKE_TEXT, startFakeOpenAI } from "../support/fake-openai";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const llm = (o: Partial<Parameters<typeof openaiLlm>[0]> = {}) => openaiLlm({ apiKey: "sk-test", baseURL: fake.url, model: "fake-gpt", maxRetries: 0, timeoutMs: 2_000, ...o });
const user = (content: string) => [{ role: "user" as const, content }];

async function collect(l: Llm, content = "hi") {
  const deltas: string[] = [];
  for await (const e of l.stream({ messages: user(content) })) {
    if (e.type === "delta") deltas.push(e.text);
    else return { deltas, done: e.completion };
  }
  throw new Error("no done event");
}

async function failure(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).status).toBe(503);
    expect((err as LlmError).code).toBe("service_unavailable");
    return err as LlmError;
  }
  throw new Error("expected a failure");
}

describe("OpenAI provider", () => {
  it("completes with the provider's usage and sends the Chat Completions request", async () => {
    const r = await llm().complete({ messages: [systemPrompt({ instructions: "Be brief.", knowledge: "K1." }), ...user("hello")], temperature: 0.2, maxTokens: 50, user: "ct_1" });
    expect(r).toMatchObject({ text: FAKE_TEXT, model: "fake-gpt", finishReason: "stop" });
    expect(r.usage.estimated).toBe(false);
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens + r.usage.completion_tokens);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe("Bearer sk-test");
    expect(sent.body).toMatchObject({ model: "fake-gpt", temperature: 0.2, max_tokens: 50, user: "ct_1", stream: false });
    expect(sent.body.messages[0].content).toContain("K1.");
  });

  it("streams deltas, then done with the usage chunk's numbers", async () => {
    fake.enqueue({ text: "one two three four", usage: { prompt_tokens: 11, completion_tokens: 4 } });
    const { deltas, done } = await collect(llm());
    expect(deltas.join("")).toBe("one two three four");
    expect(deltas.length).toBe(4);
    expect(done.usage).toEqual({ prompt_tokens: 11, completion_tokens: 4, total_tokens: 15, estimated: false });
    expect(fake.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("asks for json_schema output built from the zod schema, strict, and validates the answer", async () => {
    const Schema = z.object({ title: z.string(), sentiment: z.enum(["positive", "negative"]), topics: z.array(z.string()), extra: z.object({ n: z.number() }) });
    fake.enqueue({ json: { title: "T", sentiment: "negative", topics: ["a"], extra: { n: 2 } } });
    const r = await llm().structured({ messages: user("summarise"), schema: Schema, name: "summary" });
    expect(r.data).toEqual({ title: "T", sentiment: "negative", topics: ["a"], extra: { n: 2 } });
    const rf = fake.requests[0]!.body.response_format;
    expect(rf.type).toBe("json_schema");
    expect(rf.json_schema).toMatchObject({ name: "summary", strict: true });
    expect(rf.json_schema.schema).toMatchObject({ type: "object", additionalProperties: false, required: ["title", "sentiment", "topics", "extra"] });
    expect(rf.json_schema.schema.properties.extra).toMatchObject({ additionalProperties: false, required: ["n"] });
    expect(rf.json_schema.schema.$schema).toBeUndefined();
    fake.enqueue({ json: { title: 3 } });
    expect((await failure(llm().structured({ messages: user("x"), schema: Schema, name: "summary" }))).reason).toBe("bad_response");
  });

  it("maps provider errors to 503 LlmErrors: 500, 429, unreachable", async () => {
    fake.enqueue({ status: 500 });
    expect((await failure(llm().complete({ messages: user("x") }))).reason).toBe("unavailable");
    fake.enqueue({ status: 429 });
    expect((await failure(llm().complete({ messages: user("x") }))).reason).toBe("rate_limited");
    fake.enqueue({ status: 500 });
    expect((await failure(collect(llm()))).reason).toBe("unavailable");
    const nowhere = openaiLlm({ apiKey: "k", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0, timeoutMs: 2_000 });
    expect((await failure(nowhere.complete({ messages: user("x") }))).reason).toBe("unavailable");
  });

  it("times out: no answer, a stalled stream, and a first token too late", async () => {
    fake.enqueue({ hang: true });
    expect((await failure(llm({ timeoutMs: 200 }).complete({ messages: user("x") }))).reason).toBe("timeout");
    fake.enqueue({ text: "a b c d", failAfter: { chunks: 2, how: "hang" } });
    expect((await failure(collect(llm({ timeoutMs: 300 })))).reason).toBe("timeout");
    fake.enqueue({ delayMs: 500 });
    expect((await failure(collect(llm({ timeoutMs: 150 })))).reason).toBe("timeout");
  });

  it("fails a stream cut mid-way (socket destroyed, or an error data line)", async () => {
    fake.enqueue({ text: "a b c d e", failAfter: { chunks: 2, how: "destroy" } });
    const got: string[] = [];
    const cut = await failure(
      (async () => {
        for await (const e of llm().stream({ messages: user("x") })) if (e.type === "delta") got.push(e.text);
      })(),
    );
    expect(got.join("")).toBe("a b ");
    expect(cut.reason).toBe("unavailable");
    fake.enqueue({ text: "a b c", failAfter: { chunks: 1, how: "error" } });
    expect((await failure(collect(llm()))).reason).toBe("unavailable");
  });

  it("stops and reports `aborted` when the caller aborts", async () => {
    fake.enqueue({ text: "a b c d e f", chunkDelayMs: 100 });
    const ac = new AbortController();
    const it = llm().stream({ messages: user("x"), signal: ac.signal });
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const e of it) {
          if (e.type === "delta") seen.push(e.text);
          if (seen.length === 2) ac.abort();
        }
      })(),
    );
    expect(err.reason).toBe("aborted");
    expect(seen.length).toBe(2);
  });

  it("chooses the provider from the environment", () => {
    expect(llmFromEnv({}).provider).toBe("offline");
    expect(llmFromEnv({ OPENAI_API_KEY: "k", OPENAI_MODEL: "m" })).toMatchObject({ provider: "openai", defaultModel: "m" });
    expect(llmFromEnv({ OPENAI_API_KEY: "k" }).defaultModel).toBe("gpt-4o-mini");
  });
});

describe("offline provider", () => {
  const offline = offlineLlm();
  const sys = systemPrompt({ instructions: "Be nice.", knowledge: "Refunds are processed within 5 business days.\nOur office is in Lisbon. Shipping is free over 50 euros." });

  it("quotes the knowledge that matches the question, and says what it is", async () => {
    const r = await offline.complete({ messages: [sys, ...user("How long does a refund take?")] });
    expect(r.model).toBe(OFFLINE_MODEL);
    expect(r.text).toContain("“Refunds are processed within 5 business days.”");
    expect(r.text).toContain("offline assistant");
    expect(r.text).not.toContain("Lisbon");
    expect(r.usage).toMatchObject({ estimated: true, completion_tokens: Math.ceil(r.text.length / 4) });
  });

  it("says plainly when nothing matches, or when there is no knowledge", async () => {
    const none = await offline.complete({ messages: [sys, ...user("Do you sell bicycles?")] });
    expect(none.text).toMatch(/offline assistant.*nothing in it matches/s);
    const empty = await offline.complete({ messages: [systemPrompt({ instructions: "x" }), ...user("hello there")] });
    expect(empty.text).toContain("no knowledge to quote");
  });

  it("streams word by word, the words adding up to the completion", async () => {
    const parts: string[] = [];
    let done: string | undefined;
    for await (const e of offline.stream({ messages: [sys, ...user("refund?")] })) {
      if (e.type === "delta") parts.push(e.text);
      else done = e.completion.text;
    }
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.every((p) => p.trim().split(/\s+/).length === 1)).toBe(true);
    expect(parts.join("")).toBe(done);
  });

  it("honours max tokens and aborts", async () => {
    const r = await offline.complete({ messages: [sys, ...user("refund?")], maxTokens: 5 });
    expect(r.finishReason).toBe("length");
    expect(r.usage.completion_tokens).toBeLessThanOrEqual(5);
    const ac = new AbortController();
    ac.abort();
    await expect(offline.complete({ messages: user("x"), signal: ac.signal })).rejects.toBeInstanceOf(LlmError);
  });

  it("analyses text: sentiment, topics, action items, extractive summary", () => {
    expect(sentiment("Thanks, the agent was great and very helpful!")).toBe("positive");
    expect(sentiment("The app is broken and I am frustrated. This is terrible.")).toBe("negative");
    expect(sentiment("The delivery was late, but the support was great and helpful. Damaged box.")).toBe("mixed");
    expect(sentiment("The meeting is on Tuesday.")).toBe("neutral");
    expect(sentiment("It is not working")).toBe("negative");
    expect(actionItems("Hi there. Please send the invoice by Friday. We need to update the address. The weather is nice.")).toEqual(["Send the invoice by Friday", "Update the address"]);
    expect(topics("Invoice problem: the invoice total is wrong, and the invoice date too. Billing billing.")).toEqual(expect.arrayContaining(["invoice", "billing"]));
    const a = analyze("My order arrived damaged. I want a replacement order quickly. Please ship the replacement order today.", "bullets");
    expect(a.summary.split("\n").every((l) => l.startsWith("- "))).toBe(true);
    expect(a.language).toBe("en");
  });

  it("fills a structured schema from its field names", async () => {
    const S = z.object({ title: z.string(), content: z.string(), sentiment: z.enum(["positive", "neutral", "negative", "mixed"]), topics: z.array(z.string()), action_items: z.array(z.string()), language: z.string() });
    const r = await offline.structured({ messages: user("The checkout is broken and I am angry. Please fix the checkout page."), schema: S, name: "summary" });
    expect(r.data.sentiment).toBe("negative");
    expect(r.data.action_items).toEqual(["Fix the checkout page"]);
    expect(r.data.topics).toContain("checkout");
    expect(r.model).toBe(OFFLINE_MODEL);
    expect(strictJsonSchema(S)).toMatchObject({ additionalProperties: false });
  });
});
