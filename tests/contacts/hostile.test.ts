// Hostile input at every route and query parameter of contacts, sessions and tags: no answer
// may be a 5xx, and every error has the contract's shape with the code of its status.
import { describe, expect, it } from "vitest";
import { createHarness, type Reply } from "../support/harness";

const h = await createHarness();

const CODE: Record<number, string> = { 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "payload_too_large", 422: "validation_error" };

const VALUES: unknown[] = [
  null,
  1e308,
  -1,
  2 ** 53 + 7,
  0,
  true,
  "",
  " ",
  "x".repeat(70_000),
  "'; drop table contacts; --",
  "' OR '1'='1",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "%",
  "_",
  "\\",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "ünïcødé 😀",
  [],
  ["x"],
  {},
  { $ne: null },
];

const ODD_IDS = ["../x", "..%2F..%2Fx", "ünï😀", "x".repeat(10_000), "%25", "'", "%00", "%27%20OR%201%3D1", "<b>", "tag_", "ct_", "ses_", " ", "%E0%A4%A"];

const QUERY_VALUES = ["", "-1", "0", "1e308", "99999999999999999999", "abc", "%", "_", "'", "%00", "%27--", "<script>", "x".repeat(70_000), "-", "--created_at", "ünï"];

function check(r: Reply, what: string) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  if (r.status >= 400) {
    const e = r.body?.error;
    expect(e && typeof e.message === "string" && typeof e.request_id === "string", `${what}: not the error shape: ${r.text.slice(0, 200)}`).toBe(true);
    expect(e.code, what).toBe(CODE[r.status]);
    expect(r.text, what).not.toMatch(/stack|at \/|Failed query|drizzle|postgres/i);
  }
}

describe("hostile input: contacts, sessions, tags", () => {
  it("survives hostile values in every body field", async () => {
    const t = await h.signUp();
    const mk = async (path: string, body: unknown) => (await h.call("POST", path, { token: t.token, body })).body.id as string;
    const ct = await mk("/v1/contacts", { name: "Target", email: "target@example.com" });
    const ses = await mk("/v1/sessions", {});
    const tag = await mk("/v1/tags", { name: "target-tag" });
    const bodies: Array<[string, string, string[]]> = [
      ["POST", "/v1/contacts", ["name", "email", "phone", "attributes"]],
      ["PATCH", `/v1/contacts/${ct}`, ["name", "email", "phone", "attributes"]],
      ["POST", `/v1/contacts/${ct}/merge`, ["mergee_id"]],
      ["POST", `/v1/contacts/${ct}/tags`, ["tag"]],
      ["POST", "/v1/sessions", ["contact_id", "source", "metadata"]],
      ["PATCH", `/v1/sessions/${ses}`, ["contact_id", "metadata"]],
      ["POST", `/v1/sessions/${ses}/identify`, ["email", "phone", "name", "attributes"]],
      ["POST", `/v1/sessions/${ses}/tags`, ["tag"]],
      ["POST", "/v1/tags", ["name", "color", "description"]],
      ["PATCH", `/v1/tags/${tag}`, ["name", "color", "description"]],
    ];
    let sent = 0;
    for (const [method, path, fields] of bodies) {
      for (const whole of [null, [], "text", 42, { unknown_field: "x" }]) {
        check(await h.call(method, path, { token: t.token, body: whole }), `${method} ${path} body=${JSON.stringify(whole)}`);
        sent++;
      }
      check(await h.call(method, path, { token: t.token, raw: "{nope", headers: { "content-type": "application/json" } }), `${method} ${path} malformed`);
      for (const field of fields) {
        for (const v of VALUES) {
          const body = { [field]: v };
          check(await h.call(method, path, { token: t.token, body }), `${method} ${path} ${field}=${JSON.stringify(v)?.slice(0, 40)}`);
          sent++;
        }
        // Hostile values nested inside the JSON maps.
        if (field === "attributes" || field === "metadata") {
          for (const v of VALUES) {
            check(await h.call(method, path, { token: t.token, body: { [field]: { k: v, [String(v).slice(0, 50) || "e"]: 1 } } }), `${method} ${path} ${field}.k=${JSON.stringify(v)?.slice(0, 40)}`);
            sent++;
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(500);
    // The target is still there and readable.
    expect((await h.call("GET", `/v1/contacts/${ct}`, { token: t.token })).status).toBe(200);
  }, 300_000); // ~700 requests: on real PostgreSQL through the WebSocket proxy this takes a while

  it("survives odd ids in every path", async () => {
    const t = await h.signUp();
    for (const raw of ODD_IDS) {
      const id = raw.includes("%") ? raw : encodeURIComponent(raw);
      const probes: Array<[string, string, unknown?]> = [
        ["GET", `/v1/contacts/${id}`],
        ["PATCH", `/v1/contacts/${id}`, { name: "x" }],
        ["DELETE", `/v1/contacts/${id}`],
        ["POST", `/v1/contacts/${id}/merge`, { mergee_id: raw }],
        ["GET", `/v1/contacts/${id}/sessions`],
        ["GET", `/v1/contacts/${id}/tags`],
        ["POST", `/v1/contacts/${id}/tags`, { tag: "x" }],
        ["DELETE", `/v1/contacts/${id}/tags/${id}`],
        ["GET", `/v1/sessions/${id}`],
        ["PATCH", `/v1/sessions/${id}`, { contact_id: raw }],
        ["POST", `/v1/sessions/${id}/identify`, { email: "a@example.com" }],
        ["GET", `/v1/sessions/${id}/tags`],
        ["POST", `/v1/sessions/${id}/tags`, { tag: "x" }],
        ["DELETE", `/v1/sessions/${id}/tags/${id}`],
        ["GET", `/v1/tags/${id}`],
        ["PATCH", `/v1/tags/${id}`, { name: "x" }],
        ["DELETE", `/v1/tags/${id}`],
      ];
      for (const [method, path, body] of probes) check(await h.call(method, path, { token: t.token, body }), `${method} ${path.slice(0, 80)}`);
    }
  }, 120_000);

  it("survives hostile values in every query parameter", async () => {
    const t = await h.signUp();
    const ct = (await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Q" } })).body.id;
    const lists: Array<[string, string[]]> = [
      ["/v1/contacts", ["search", "tag", "sort", "page", "per_page"]],
      ["/v1/sessions", ["contact_id", "tag", "sort", "page", "per_page"]],
      [`/v1/contacts/${ct}/sessions`, ["sort", "page", "per_page"]],
      [`/v1/contacts/${ct}/tags`, ["page", "per_page"]],
      ["/v1/tags", ["sort", "page", "per_page"]],
    ];
    for (const [path, params] of lists) {
      for (const p of params) {
        for (const v of QUERY_VALUES) {
          const r = await h.call("GET", `${path}?${p}=${v.includes("%") ? v : encodeURIComponent(v)}`, { token: t.token });
          check(r, `GET ${path}?${p}=${v.slice(0, 30)}`);
        }
        // A parameter given twice.
        check(await h.call("GET", `${path}?${p}=1&${p}=2`, { token: t.token }), `GET ${path}?${p} twice`);
      }
    }
  }, 120_000);
});
