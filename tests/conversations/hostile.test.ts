// Hostile input at every conversations route: nulls, huge numbers, empty and 70,000-character
// strings, SQL and HTML fragments, wrong types, odd ids, bad query parameters. No answer may be
// a 5xx, and every error must be in the contract's shape.
import { describe, expect, it } from "vitest";
import { createHarness, type Reply } from "../support/harness";
import { createConversation } from "./fixtures";

const h = await createHarness();
const t = await h.signUp();
const conv = await createConversation(h, t, { content: "hello" });
await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "vip" } });

const HUGE = "x".repeat(70_000);
const VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  2 ** 53 + 1,
  Number.MIN_SAFE_INTEGER,
  "",
  " ",
  HUGE,
  "'; drop table conversations; --",
  "' OR '1'='1",
  "<script>alert(1)</script>",
  "%_\\",
  "\u0000",
  "\ud800",
  "conv_zzzzzzzzzzzzzzzzzzzzzzzzzzz",
  [],
  [null],
  {},
  { $ne: null },
];
const ODD_IDS = ["conv_x", "' OR 1=1 --", "%00", "%2e%2e%2f", "x".repeat(300), "%F0%9F%92%A9", "conv_%00abc", "null", "-1"];
const ODD_QUERIES = [
  "page=-1",
  "page=0",
  "page=1e20",
  "page=abc",
  "per_page=1000",
  "per_page=-5",
  "per_page=1.5",
  "sort=title",
  "sort=--created_at",
  "sort=created_at;drop",
  `sort=${"x".repeat(500)}`,
  "status=OPEN",
  "status[]=open",
  "source=fax",
  "processing_status=done",
  `search=${"x".repeat(5000)}`,
  "search=%00",
  "search=%25%27%22",
  "tag=%00",
  "tag=",
  `contact_id=${"c".repeat(500)}`,
  "contact_id=%00",
  "assignee_id=' OR 1=1",
  "since=yesterday",
  "since=2026-13-45T99:99:99Z",
  "since=",
  "since=0",
  "page=1&page=2",
];

const checked: string[] = [];
function expectSane(r: Reply, what: string) {
  checked.push(what);
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    expect(r.body?.error, `${what} error shape`).toMatchObject({ code: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
    expect(r.text).not.toMatch(/stack|at Object\.|drizzle|syntax error|relation "/i);
  }
}

/** Every body field of every write route, each replaced by every hostile value. */
const BODIES: Array<{ method: string; path: () => string; base: Record<string, unknown> }> = [
  { method: "POST", path: () => "/v1/conversations", base: { title: "t", content: "c", source: "api", contact_id: "ct_x", channel_id: "ch_x", session_id: "ses_x", assistant_id: "ast_x", metadata: { a: 1 } } },
  { method: "PATCH", path: () => `/v1/conversations/${conv.id}`, base: { title: "t", status: "open", assignee_id: null, metadata: { a: 1 } } },
  { method: "POST", path: () => `/v1/conversations/${conv.id}/status`, base: { status: "open" } },
  { method: "POST", path: () => `/v1/conversations/${conv.id}/assign`, base: { agent_id: null } },
  { method: "POST", path: () => `/v1/conversations/${conv.id}/tags`, base: { tag: "vip" } },
  { method: "POST", path: () => `/v1/conversations/${conv.id}/messages`, base: { content: "hi", sender_type: "note", attachment_ids: [] } },
  {
    method: "POST",
    path: () => "/v1/messages/capture",
    base: { messages: [{ conversation_id: conv.id, source: "api", sender_type: "contact", content: "hi", external_id: "h1", occurred_at: "2026-01-01T00:00:00Z" }] },
  },
];

describe("hostile input at every conversations route", () => {
  it("body fields: every field × every hostile value", async () => {
    for (const route of BODIES) {
      for (const field of Object.keys(route.base)) {
        for (const v of VALUES) {
          const body = { ...route.base, [field]: v };
          expectSane(await h.call(route.method, route.path(), { token: t.token, body }), `${route.method} ${route.path()} ${field}=${JSON.stringify(v)?.slice(0, 40)}`);
        }
      }
    }
    // Capture items' own fields.
    const item = BODIES.at(-1)!.base.messages as Array<Record<string, unknown>>;
    for (const field of Object.keys(item[0]!)) {
      for (const v of VALUES) {
        const r = await h.call("POST", "/v1/messages/capture", { token: t.token, body: { messages: [{ ...item[0], [field]: v }] } });
        expectSane(r, `capture messages.0.${field}=${JSON.stringify(v)?.slice(0, 40)}`);
      }
    }
  });

  it("whole bodies of the wrong type, malformed JSON, metadata too big or too deep", async () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 200; i++) {
      const next: Record<string, unknown> = {};
      cur.a = next;
      cur = next;
    }
    const bodies: unknown[] = [null, [], "string", 42, { metadata: { big: HUGE } }, { title: "x", metadata: deep }, { title: "x", metadata: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, i])) }];
    for (const route of BODIES) {
      for (const b of bodies) expectSane(await h.call(route.method, route.path(), { token: t.token, body: b }), `${route.method} ${route.path()} body=${JSON.stringify(b).slice(0, 30)}`);
      expectSane(await h.call(route.method, route.path(), { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), `${route.method} malformed`);
      expectSane(await h.call(route.method, route.path(), { token: t.token, raw: "title=x", headers: { "content-type": "text/plain" } }), `${route.method} text/plain`);
    }
    const over = await h.call("POST", "/v1/messages/capture", { token: t.token, body: { messages: Array.from({ length: 100 }, () => ({ conversation_id: conv.id, source: "api", sender_type: "contact", content: HUGE })) } });
    expectSane(over, "capture over the body limit");
    expect(over.status).toBe(413);
  });

  it("odd ids in every path", async () => {
    for (const id of ODD_IDS) {
      for (const [method, path, body] of [
        ["GET", `/v1/conversations/${id}`],
        ["PATCH", `/v1/conversations/${id}`, { title: "x" }],
        ["DELETE", `/v1/conversations/${id}`],
        ["POST", `/v1/conversations/${id}/status`, { status: "open" }],
        ["POST", `/v1/conversations/${id}/assign`, { agent_id: null }],
        ["GET", `/v1/conversations/${id}/tags`],
        ["POST", `/v1/conversations/${id}/tags`, { tag: "x" }],
        ["DELETE", `/v1/conversations/${id}/tags/${id}`],
        ["DELETE", `/v1/conversations/${conv.id}/tags/${id}`],
        ["GET", `/v1/conversations/${id}/messages`],
        ["POST", `/v1/conversations/${id}/messages`, { content: "x", sender_type: "note" }],
      ] as Array<[string, string, unknown?]>) {
        const r = await h.call(method, path, { token: t.token, body });
        expectSane(r, `${method} ${path.slice(0, 80)}`);
        expect([400, 404]).toContain(r.status);
      }
    }
  });

  it("odd query parameters on both lists", async () => {
    for (const qs of ODD_QUERIES) {
      expectSane(await h.call("GET", `/v1/conversations?${qs}`, { token: t.token }), `list ?${qs.slice(0, 60)}`);
      expectSane(await h.call("GET", `/v1/conversations/${conv.id}/messages?${qs}`, { token: t.token }), `messages ?${qs.slice(0, 60)}`);
    }
    const big = await h.call("GET", "/v1/conversations?per_page=1000", { token: t.token });
    expect(big.status).toBe(400);
    expect(big.body.error.details.fields.per_page).toBeDefined();
    const neg = await h.call("GET", "/v1/conversations?page=-1", { token: t.token });
    expect(neg.status).toBe(400);
  });

  it("the conversation survived it all", async () => {
    const r = await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token });
    expect(r.status).toBe(200);
    expect(checked.length).toBeGreaterThan(500);
  });
});
