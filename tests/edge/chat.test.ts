// The chat Worker as deployed, in workerd against real PostgreSQL and Redis, with the offline
// model: a streamed reply stored, continued in the same conversation, request after request
// (each request's database pool is held open by its stream and closed after it), with the
// Server-Timing and rate-limit headers the isolate-level caches produce.
import { randomBytes } from "node:crypto";
import { VERSION } from "openai/version";
import { afterAll, describe, expect, it } from "vitest";
import { eventsOnly, parseSse } from "../chat/helpers";
import { FAKE_TEXT, startFakeOpenAI } from "../support/fake-openai";
import { skipEdge, startWorker, uniqueEmail } from "./support";

const events = (text: string) => eventsOnly(parseSse(text));

describe.skipIf(skipEdge)("streaming chat in workerd", async () => {
  // One secret for both Workers, as in production: a token issued by identity works in chat.
  const shared = { JWT_SECRET: randomBytes(32).toString("hex") };
  const identity = skipEdge ? (undefined as never) : await startWorker("identity", shared);
  const chat = skipEdge ? (undefined as never) : await startWorker("chat", shared);

  it("streams a reply, then continues the conversation, request after request", async () => {
    const signUp = await identity.call("POST", "/v1/workspaces", { body: { name: "Edge Chat", owner: { name: "Owner", email: uniqueEmail("chat"), password: "s3cret-password" } } });
    expect(signUp.status, signUp.text).toBe(201);
    const token = signUp.body.access_token as string;

    const first = await chat.call("POST", "/v1/chat/stream", { token, body: { message: "How long do refunds take?" } });
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(first.headers.get("server-timing")).toMatch(/^pipeline;dur=[\d.]+;desc="[^"]+", store;dur=[\d.]+;desc="user message stored"$/);
    const one = events(first.text);
    expect(one[0]!.event).toBe("message_start");
    expect(one.filter((e) => e.event === "delta").length).toBeGreaterThan(0);
    expect(one.at(-1)).toMatchObject({ event: "message_end", data: { status: "complete", model: "parley-offline" } });
    const conversationId = one[0]!.data.conversation_id as string;

    const remaining: number[] = [Number(first.headers.get("x-ratelimit-remaining"))];
    const resets = new Set([first.headers.get("x-ratelimit-reset")]);
    for (const message of ["And shipping?", "Thanks!"]) {
      const next = await chat.call("POST", "/v1/chat/stream", { token, body: { message, conversation_id: conversationId } });
      expect(next.status, next.text).toBe(200);
      const evs = events(next.text);
      expect(evs[0]!.data.conversation_id).toBe(conversationId);
      expect(evs.at(-1)!.event).toBe("message_end");
      remaining.push(Number(next.headers.get("x-ratelimit-remaining")));
      resets.add(next.headers.get("x-ratelimit-reset"));
    }
    // Counted once each, whether Redis was waited for or not (unless a new minute began meanwhile).
    if (resets.size === 1) expect(remaining).toEqual([remaining[0], remaining[0]! - 1, remaining[0]! - 2]);
  });
});

describe.skipIf(skipEdge)("streaming chat in workerd through the OpenAI SDK", async () => {
  // The real SDK, bundled as deployed (names not kept), against a local server speaking OpenAI's wire format.
  const fake = skipEdge ? (undefined as never) : await startFakeOpenAI();
  afterAll(() => fake?.close());
  const shared = { JWT_SECRET: randomBytes(32).toString("hex") };
  const identity = skipEdge ? (undefined as never) : await startWorker("identity", shared);
  const chat = skipEdge
    ? (undefined as never)
    : await startWorker("chat", { ...shared, OPENAI_API_KEY: "sk-edge", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_MAX_RETRIES: "0" });

  it("streams the model's answer, sending the SDK's own User-Agent", async () => {
    const signUp = await identity.call("POST", "/v1/workspaces", { body: { name: "Edge SDK", owner: { name: "Owner", email: uniqueEmail("sdk"), password: "s3cret-password" } } });
    expect(signUp.status, signUp.text).toBe(201);
    const r = await chat.call("POST", "/v1/chat/stream", { token: signUp.body.access_token, body: { message: "Hello?" } });
    expect(r.status, r.text).toBe(200);
    const evs = events(r.text);
    expect(evs.filter((e) => e.event === "delta").map((e) => e.data.text).join("")).toBe(FAKE_TEXT);
    expect(evs.at(-1)).toMatchObject({ event: "message_end", data: { status: "complete", model: "fake-gpt" } });
    const sent = fake.requests.find((q) => q.path === "/v1/chat/completions");
    expect(sent?.headers.authorization).toBe("Bearer sk-edge");
    expect(sent?.headers["user-agent"]).toBe(`OpenAI/JS ${VERSION}`);
  });
});
