// The chat Worker as deployed, in workerd against real PostgreSQL and Redis, with the offline
// model: a streamed reply stored, continued in the same conversation, request after request
// (each request's database pool is held open by its stream and closed after it), with the
// Server-Timing and rate-limit headers the isolate-level caches produce.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eventsOnly, parseSse } from "../chat/helpers";
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
