// Hostile input at every summaries and suggest route: odd ids, bodies of every wrong type and
// odd query parameters answer 4xx in the error shape, never a 5xx. And the transcript budget.
import { describe, expect, it } from "vitest";
import { buildTranscript } from "../../functions/jobs/summarize";
import { createHarness } from "../support/harness";
import { newConversation } from "./helpers";

const h = await createHarness();

const ODD_IDS = ["%00", "conv_%00", "%ED%A0%80", "x".repeat(300), "..%2F..%2Fetc", "'%20or%201=1--", "%F0%9F%92%A5", "conv_01jd3k9v6q8f2m4x7c5b0n1p2r%20"];
const ODD_BODIES: unknown[] = [null, 1, "text", [], [{}], { style: null }, { style: 1 }, { language: "\u0000en" }, { language: "e".repeat(10_000) }, { style: "CONCISE" }, { language: ["en"] }, { language: "\ud800" }];

function no5xx(r: { status: number; text: string; body: any }, what: string) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 200)}`).toBeLessThan(500);
  expect(r.status, what).toBeGreaterThanOrEqual(400);
  expect(typeof r.body?.error?.code, what).toBe("string");
}

describe("hostile input", () => {
  it("odd ids in every path", async () => {
    const t = await h.signUp();
    for (const id of ODD_IDS) {
      no5xx(await h.call("GET", `/v1/summaries/${id}`, { token: t.token }), `GET summary ${id}`);
      no5xx(await h.call("GET", `/v1/conversations/${id}/summaries`, { token: t.token }), `list ${id}`);
      no5xx(await h.call("POST", `/v1/conversations/${id}/summaries`, { token: t.token, body: {} }), `POST ${id}`);
      no5xx(await h.call("GET", `/v1/conversations/${id}/suggest`, { token: t.token }), `suggest ${id}`);
      no5xx(await h.call("GET", `/v1/ai-suggest?conversation_id=${id}`, { token: t.token }), `ai-suggest ${id}`);
    }
  });

  it("bodies of the wrong type and malformed JSON", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: "Please refund my order." });
    for (const body of ODD_BODIES) {
      no5xx(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body }), `body ${JSON.stringify(body)?.slice(0, 50)}`);
    }
    no5xx(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), "malformed JSON");
  });

  it("odd query parameters", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: "Please refund my order." });
    for (const q of ["page=0", "page=-1", "per_page=1000", "page=abc", "per_page=1e99", "page=%00"]) {
      no5xx(await h.call("GET", `/v1/conversations/${conv.id}/summaries?${q}`, { token: t.token }), q);
    }
    for (const q of ["", "conversation_id=", "conversation_id=%00", `conversation_id=${"x".repeat(500)}`, "conversation_id=a&conversation_id=b"]) {
      no5xx(await h.call("GET", `/v1/ai-suggest?${q}`, { token: t.token }), q);
    }
  });
});

describe("the transcript within its budget", () => {
  const parts = Array.from({ length: 400 }, (_, i) => ({ speaker: i % 2 ? "Agent" : "Customer", text: `message number ${i} ${"words ".repeat(20)}` }));

  it("keeps everything when it fits, oldest first, content first", () => {
    expect(buildTranscript("The content.", parts.slice(0, 2), 10_000)).toBe(`Conversation: The content.\nCustomer: ${parts[0]!.text}\nAgent: ${parts[1]!.text}`);
  });

  it("over budget: the start and the most recent messages, and how many were left out", () => {
    const out = buildTranscript("The content.", parts, 6_000);
    expect(out.length).toBeLessThanOrEqual(6_000);
    expect(out.startsWith("Conversation: The content.\nCustomer: message number 0 ")).toBe(true);
    expect(out).toContain("message number 399 ");
    const left = Number(/\[… (\d+) messages left out …\]/.exec(out)?.[1]);
    const kept = (out.match(/message number \d+ /g) ?? []).length;
    expect(left + kept).toBe(400);
    const lines = out.split("\n");
    const at = lines.findIndex((l) => l.startsWith("[…"));
    expect(Number(/number (\d+)/.exec(lines[at + 1]!)?.[1])).toBe(400 - (lines.length - at - 1));
  });

  it("a single huge content is cut, not dropped, and recent messages still fit", () => {
    const out = buildTranscript("x".repeat(100_000), parts.slice(0, 3), 6_000);
    expect(out.length).toBeLessThanOrEqual(6_000);
    expect(out).toContain("message number 2 ");
    expect(out).toMatch(/^Conversation: x+…/);
  });
});
