// The SSE channel lets go of the request's abort signal once it stops. A listener left there
// kept every chat's channel, its stream and its request alive in the local server (Node's
// Request holds its signal from a FinalizationRegistry until the Request is collected).
import { getEventListeners } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SseChannel } from "../../functions/chat/sse";
import { memoryKv } from "../../lib/kv";
import { createHarness } from "../support/harness";
import { createAssistant, createKey } from "./helpers";

const channel = (requestSignal: AbortSignal) => new SseChannel({ kv: memoryKv(), workspaceId: "ws_1", messageId: "msg_1", heartbeatMs: 60_000, requestSignal });

describe("SseChannel and the request's signal", () => {
  it("listens while the stream runs and stops listening when it ends", async () => {
    const request = new AbortController();
    const c = channel(request.signal);
    expect(getEventListeners(request.signal, "abort")).toHaveLength(1);
    c.send("message_start", { ok: true });
    await c.close();
    expect(getEventListeners(request.signal, "abort")).toHaveLength(0);
    expect(c.clientGone).toBe(false);
  });

  it("stops listening when the client goes away, and aborts the producer", async () => {
    const request = new AbortController();
    const c = channel(request.signal);
    request.abort();
    expect(c.clientGone).toBe(true);
    expect(c.signal.aborted).toBe(true);
    expect(getEventListeners(request.signal, "abort")).toHaveLength(0);
    await c.close();
  });

  it("stops listening when the response body is cancelled", async () => {
    const request = new AbortController();
    const c = channel(request.signal);
    await c.response().body!.cancel();
    expect(c.clientGone).toBe(true);
    expect(getEventListeners(request.signal, "abort")).toHaveLength(0);
  });
});

describe("streaming endpoints take back every abort listener they add", () => {
  const BASE = "http://parley.test";
  // The caller of addEventListener is Parley's own code (functions/ or lib/ of this checkout, wherever it is).
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const ours = (stack: string) => {
    const caller = stack.split("\n")[2] ?? "";
    return !caller.includes("node_modules") && (caller.includes(`${root}functions/`) || caller.includes(`${root}lib/`));
  };

  /** Runs one request to its end, recording the abort listeners Parley's own code added meanwhile (on any signal). */
  const traced = async (h: Awaited<ReturnType<typeof createHarness>>, path: string, key: string, body: unknown) => {
    const added: Array<{ signal: AbortSignal; fn: unknown; at: string }> = [];
    const original = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, fn: never, opts?: never) {
      const stack = new Error().stack ?? "";
      if (this instanceof AbortSignal && type === "abort" && ours(stack)) added.push({ signal: this, fn, at: stack.split("\n")[2]!.trim() });
      return original.call(this, type, fn, opts);
    };
    try {
      const res = await h.dispatch(new Request(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(body) }));
      const text = await res.text();
      const left = added.filter((a) => getEventListeners(a.signal, "abort").includes(a.fn as never)).map((a) => a.at);
      return { text, added: added.length, left };
    } finally {
      EventTarget.prototype.addEventListener = original;
    }
  };

  it("POST /v1/chat/stream and the OpenAI-compatible stream, once they end", async () => {
    const h = await createHarness();
    const t = await h.signUp();
    const chat = await traced(h, "/v1/chat/stream", t.token, { message: "How long do refunds take?" });
    expect(chat.text).toContain("event: message_end");
    expect(chat.added).toBeGreaterThan(0);
    expect(chat.left).toEqual([]);

    const a = await createAssistant(h, t.token);
    const key = await createKey(h, t.token);
    const oa = await traced(h, `/v1/openai/${a.id}/chat/completions`, key, { model: "any", stream: true, messages: [{ role: "user", content: "How long do refunds take?" }] });
    expect(oa.text).toContain("data: [DONE]");
    expect(oa.added).toBeGreaterThan(0);
    expect(oa.left).toEqual([]);
  });
});
