// Hostile input at every chat route: nulls, huge numbers, empty and 70k strings, SQL and HTML
// fragments, wrong types, odd ids and headers. No answer may be a 5xx, and errors keep the shape.
import { describe, expect, it } from "vitest";
import { createHarness } from "../support/harness";
import { createAssistant } from "./helpers";

const h = await createHarness();

const NASTY: unknown[] = [null, 0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, true, "", " ", "x".repeat(70_000), "'; drop table messages; --", "<script>alert(1)</script>", "\u0000\u202e", [], {}, [null], { $ne: 1 }, "ast_' or 1=1 --", "../../etc/passwd", "%00", "😀".repeat(500)];
const ODD_IDS = ["x", "ast_%27", "conv_" + "a".repeat(300), "%2e%2e", "ses_01jd3k9v6q8f2m4x7c5b0n1p2r", "null", "' OR '1'='1"];

function expectSane(r: { status: number; body: any; text: string }, what: string) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    expect(typeof r.body?.error?.code, what).toBe("string");
    expect(typeof r.body?.error?.request_id, what).toBe("string");
  }
}

describe("hostile input to the chat routes", () => {
  it("never answers 5xx to odd bodies", async () => {
    const t = await h.signUp();
    const a = await createAssistant(h, t.token);
    const s = (await h.call("POST", "/v1/chat/start", { token: t.token, body: { assistant_id: a.id } })).body;
    const bodies = (field: string, base: Record<string, unknown>) => NASTY.map((v) => ({ ...base, [field]: v }));
    const cases: Array<[string, string, unknown]> = [];
    for (const b of [...bodies("name", { instructions: "i" }), ...bodies("instructions", { name: "n" }), ...bodies("temperature", { name: "n", instructions: "i" }), ...bodies("knowledge", { name: "n", instructions: "i" }), ...bodies("model", { name: "n", instructions: "i" })]) {
      cases.push(["POST", "/v1/assistants", b]);
      cases.push(["PATCH", `/v1/assistants/${a.id}`, b]);
    }
    for (const b of [...bodies("message", {}), ...bodies("conversation_id", { message: "m" }), ...bodies("session_id", { message: "m" }), ...bodies("assistant_id", { message: "m" })]) cases.push(["POST", "/v1/chat/stream", b]);
    for (const b of [...bodies("assistant_id", {}), ...bodies("contact", { assistant_id: a.id }), ...NASTY.map((v) => ({ assistant_id: a.id, contact: { identifier: v, name: v } }))]) cases.push(["POST", "/v1/chat/start", b]);
    for (const b of bodies("message", {})) cases.push(["POST", `/v1/chat/${s.session_id}/message`, b]);
    const oai = `/v1/openai/${a.id}/chat/completions`;
    for (const b of [
      ...bodies("messages", {}),
      ...NASTY.map((v) => ({ messages: [{ role: "user", content: v }] })),
      ...NASTY.map((v) => ({ messages: [{ role: v, content: "x" }] })),
      ...bodies("temperature", { messages: [{ role: "user", content: "x" }] }),
      ...bodies("max_tokens", { messages: [{ role: "user", content: "x" }] }),
      ...bodies("user", { messages: [{ role: "user", content: "x" }] }),
      ...bodies("stream", { messages: [{ role: "user", content: "x" }] }),
      ...bodies("stream_options", { messages: [{ role: "user", content: "x" }], stream: true }),
      { messages: [{ role: "system", content: "only system" }] },
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }] },
    ])
      cases.push(["POST", oai, b]);
    for (const v of NASTY) cases.push(["POST", "/v1/chat/stream", v]);
    for (const [method, path, body] of cases) {
      const r = await h.call(method, path, { token: t.token, body });
      expectSane(r, `${method} ${path} ${JSON.stringify(body).slice(0, 120)}`);
    }
  }, 180_000);

  it("never answers 5xx to odd ids, queries, headers and raw bodies", async () => {
    const t = await h.signUp();
    for (const id of ODD_IDS) {
      const e = encodeURIComponent(id);
      for (const [m, p] of [
        ["GET", `/v1/assistants/${e}`],
        ["PATCH", `/v1/assistants/${e}`],
        ["DELETE", `/v1/assistants/${e}`],
        ["POST", `/v1/chat/${e}/message`],
        ["GET", `/v1/chat/${e}/poll`],
        ["GET", `/v1/chat/${e}/${e}/poll`],
        ["POST", `/v1/openai/${e}/chat/completions`],
        ["GET", `/v1/openai/${e}/models`],
      ] as const) {
        expectSane(await h.call(m, p, { token: t.token, body: m === "GET" || m === "DELETE" ? undefined : { message: "x", name: "n", messages: [{ role: "user", content: "x" }] } }), `${m} ${p}`);
      }
    }
    for (const q of ["since=", "since=9999-99-99", "since=%00", "since=2026-01-01T00:00:00Z&since=x", `since=${"1".repeat(5000)}`]) {
      expectSane(await h.call("GET", `/v1/chat/ses_01jd3k9v6q8f2m4x7c5b0n1p2r/poll?${q}`, { token: t.token }), q);
    }
    for (const q of ["page=-1", "per_page=100000", "sort=';--", "page=1e400"]) expectSane(await h.call("GET", `/v1/assistants?${q}`, { token: t.token }), q);
    for (const id of ["", " ", "msg_x:1", `msg_${"0".repeat(26)}:99999999999`, "a".repeat(5000), "msg_01jd3k9v6q8f2m4x7c5b0n1p2r:-1"]) {
      expectSane(await h.call("POST", "/v1/chat/stream", { token: t.token, body: { message: "x" }, headers: { "last-event-id": id } }), `last-event-id ${id.slice(0, 40)}`);
    }
    for (const raw of ["{", "null", "[]", '{"message": "x"', "\u0000", "x".repeat(2_000_000)]) {
      for (const p of ["/v1/chat/stream", "/v1/assistants", "/v1/chat/start"]) {
        expectSane(await h.call("POST", p, { token: t.token, raw, headers: { "content-type": "application/json" } }), `${p} raw ${raw.slice(0, 20)}`);
      }
    }
  }, 120_000);
});
