// Throws hostile input at every identity route: nothing may answer 5xx, and every error
// answer has the contract's error shape.
import { describe, expect, it } from "vitest";
import { createHarness, type Reply, unique } from "../support/harness";

const h = await createHarness();
const owner = await h.signUp();

const HOSTILE: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  Number.MAX_SAFE_INTEGER * 1000,
  "",
  " ",
  "x".repeat(70_000),
  "'; DROP TABLE agents; --",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "\u0000\u202e\ud83d\ude00",
  "ünïcödé@exämple.com",
  [],
  ["read", "root"],
  {},
  { $gt: "" },
  { __proto__: { admin: true } },
];

const ODD_IDS = ["..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e%2F", encodeURIComponent("ünï✓"), "x".repeat(10_000), "%00", encodeURIComponent("' OR 1=1 --"), "agt_", "key_"];

interface RouteSpec {
  method: string;
  path: string;
  /** A valid body; each of its fields is replaced by each hostile value in turn. */
  base?: Record<string, unknown>;
  idPath?: (id: string) => string;
  query?: string[];
  anon?: boolean;
}

const ROUTES: RouteSpec[] = [
  { method: "POST", path: "/v1/workspaces", anon: true, base: { name: "Hostile", owner: { name: "H", email: `${unique("h")}@example.com`, password: "password123" } } },
  { method: "POST", path: "/v1/auth/token", anon: true, base: { email: owner.email, password: owner.password } },
  { method: "POST", path: "/v1/auth/refresh", anon: true, base: { refresh_token: "rt_x" } },
  { method: "POST", path: "/v1/auth/revoke", anon: true, base: { refresh_token: "rt_x" } },
  { method: "POST", path: "/v1/auth/login", anon: true, base: { email: owner.email, password: owner.password } },
  { method: "POST", path: "/v1/auth/logout", anon: true, base: {} },
  { method: "GET", path: "/v1/auth/me" },
  { method: "GET", path: "/v1/api-keys", query: ["page", "per_page", "sort"] },
  { method: "POST", path: "/v1/api-keys", base: { name: "k", scopes: ["read"], expires_at: "2999-01-01T00:00:00Z" } },
  { method: "DELETE", path: "/v1/api-keys/{id}", idPath: (id) => `/v1/api-keys/${id}` },
  { method: "GET", path: "/v1/agents", query: ["page", "per_page", "sort", "role"] },
  { method: "POST", path: "/v1/agents", base: { name: "A", email: `${unique("hx")}@example.com`, password: "password123", role: "agent" } },
  { method: "POST", path: "/v1/agents/{id}/role", base: { role: "agent" }, idPath: (id) => `/v1/agents/${id}/role` },
  { method: "DELETE", path: "/v1/agents/{id}", idPath: (id) => `/v1/agents/${id}` },
  { method: "GET", path: "/v1/settings/workspace" },
  { method: "PATCH", path: "/v1/settings/workspace", base: { name: "W", settings: { timezone: "UTC", search_language: "simple" } } },
  { method: "POST", path: "/v1/settings/workspace", base: { name: "W", settings: { timezone: "UTC", search_language: "simple" } } },
  { method: "POST", path: "/v1/settings/password", base: { current_password: "definitely-wrong", new_password: "password123" } },
];

/** Every body: each top-level and nested field replaced by each hostile value, plus hostile whole bodies. */
function bodies(base: Record<string, unknown>): unknown[] {
  const out: unknown[] = [...HOSTILE];
  const visit = (obj: Record<string, unknown>, set: (patch: Record<string, unknown>) => unknown) => {
    for (const [k, v] of Object.entries(obj)) {
      for (const bad of HOSTILE) out.push(set({ ...obj, [k]: bad }));
      if (v && typeof v === "object" && !Array.isArray(v)) visit(v as Record<string, unknown>, (inner) => set({ ...obj, [k]: inner }));
    }
  };
  visit(base, (patch) => patch);
  return out;
}

const problems: string[] = [];

function check(label: string, r: Reply) {
  const okShape =
    r.status < 400 ||
    (typeof r.body?.error?.code === "string" && typeof r.body.error.message === "string" && typeof r.body.error.request_id === "string");
  if (r.status >= 500 || !okShape) problems.push(`${label} → ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400 && r.text.match(/at \w+ \(|SELECT |drizzle|stack/i)) problems.push(`${label} leaks internals: ${r.text.slice(0, 200)}`);
}

describe("hostile input to every identity route", () => {
  for (const route of ROUTES) {
    it(`${route.method} ${route.path}`, async () => {
      problems.length = 0;
      const auth = route.anon ? {} : { token: owner.token };
      const target = route.idPath ? ODD_IDS.map(route.idPath) : [route.path];
      for (const path of target) {
        if (route.base) {
          for (const b of bodies(route.base)) check(`${route.method} ${path.slice(0, 60)} ${JSON.stringify(b)?.slice(0, 80)}`, await h.call(route.method, path, { ...auth, body: b }));
          // Not JSON at all, and JSON under the wrong content type.
          for (const raw of ["{", "nul", "\u0000", "[1,2", '{"a":1}{'])
            check(`${route.method} ${path} raw ${raw}`, await h.call(route.method, path, { ...auth, raw, headers: { "content-type": "application/json" } }));
          check(`${route.method} ${path} text/plain`, await h.call(route.method, path, { ...auth, raw: JSON.stringify(route.base), headers: { "content-type": "text/plain" } }));
          check(`${route.method} ${path} no body`, await h.call(route.method, path, { ...auth }));
        } else {
          check(`${route.method} ${path.slice(0, 60)}`, await h.call(route.method, path, auth));
        }
      }
      for (const q of route.query ?? []) {
        for (const v of ["0", "-1", "1e308", "99999999999999999999", "abc", "", "../", "%00", "<script>", "x".repeat(5000), "sort", "-"]) {
          check(`${route.method} ${route.path}?${q}=${v.slice(0, 20)}`, await h.call(route.method, `${route.path}?${q}=${encodeURIComponent(v)}`, auth));
        }
      }
      expect(problems).toEqual([]);
    }, 180_000); // hundreds of requests: room for a loaded machine and real PostgreSQL
  }

  it("odd credentials never cause a 5xx", async () => {
    problems.length = 0;
    const headerSets: Array<Record<string, string>> = [
      { authorization: "Bearer " + "x".repeat(10_000) },
      { authorization: "Bearer pk_" + "x".repeat(10_000) },
      { authorization: "Bearer ' OR 1=1 --" },
      { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOm51bGx9.x" },
      { authorization: "Bearer" },
      { authorization: "" },
      { "x-api-key": "x".repeat(10_000) },
      { "x-api-key": "' OR 1=1 --" },
      { cookie: "parley_session=" + "x".repeat(4000) },
      { cookie: "parley_session=%zz" },
      { "x-request-id": "<script>" },
    ];
    for (const headers of headerSets) {
      for (const [m, p] of [["GET", "/v1/agents"], ["POST", "/v1/api-keys"], ["PATCH", "/v1/settings/workspace"]] as const) {
        check(`${m} ${p} ${JSON.stringify(headers).slice(0, 60)}`, await h.call(m, p, { headers, body: m === "GET" ? undefined : { name: "x" } }));
      }
    }
    expect(problems).toEqual([]);
  }, 180_000);
});
