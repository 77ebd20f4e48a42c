// Failed authentications are limited per client address: guessing API keys, tokens or session
// cookies gets 429 (details.reason "auth_failures") before any further credential lookup,
// while other addresses and already-verified credentials go on working.
import { describe, expect, it } from "vitest";
import { createHarness, expectError, unique } from "../support/harness";

const LIMIT = 5;
const h = await createHarness({ AUTH_FAILURES_PER_MINUTE: String(LIMIT) });

describe("failed authentication limit", () => {
  it("answers 429 auth_failures once an address has failed too often, for keys, tokens and cookies alike", async () => {
    const t = await h.signUp();
    // Every request here carries an address of its own: on real Redis the failure counters are
    // shared with the other test files, whose 401s from the default address count against it.
    const created = await h.call("POST", "/v1/api-keys", { token: t.token, headers: { "x-forwarded-for": unique("203.0.113.8-") }, body: { name: "ci", scopes: ["read", "write"] } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    // A verified credential, used once before the guessing starts (and so remembered).
    expect((await h.call("GET", "/v1/tags", { headers: { "x-api-key": key, "x-forwarded-for": unique("203.0.113.9-") } })).status).toBe(200);

    const from = (ip: string) => ({ "x-forwarded-for": ip });
    // Addresses unique to this run: on real Redis the counters outlive the test.
    const attacker = unique("198.51.100.7-");
    const tries: Record<string, string>[] = [
      { "x-api-key": "pk_live_guess1" },
      { authorization: "Bearer pk_live_guess2" },
      { authorization: "Bearer not.a.jwt" },
      { cookie: "parley_session=guess" },
      { authorization: "Basic abc" },
    ];
    for (const headers of tries) expectError(await h.call("GET", "/v1/tags", { headers: { ...headers, ...from(attacker) } }), 401, "unauthorized");
    const refused = await h.call("GET", "/v1/tags", { headers: { "x-api-key": "pk_live_guess6", ...from(attacker) } });
    const err = expectError(refused, 429, "rate_limit_exceeded");
    expect(err.details).toMatchObject({ reason: "auth_failures", limit: LIMIT });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even a real key is not looked up from that address this minute.
    expectError(await h.call("GET", "/v1/tags", { headers: { "x-api-key": `${key.slice(0, -1)}x`, ...from(attacker) } }), 429, "rate_limit_exceeded");

    const other = unique("192.0.2.44-");
    // Another address is unaffected: its wrong key is a plain 401, its right key works.
    expectError(await h.call("GET", "/v1/tags", { headers: { "x-api-key": "pk_live_other", ...from(other) } }), 401, "unauthorized");
    expect((await h.call("GET", "/v1/tags", { headers: { "x-api-key": key, ...from(other) } })).status).toBe(200);
  });

  it("does not count requests without credentials or with valid ones", async () => {
    const t = await h.signUp();
    const ip = { "x-forwarded-for": unique("198.51.100.77-") };
    for (let i = 0; i < LIMIT + 3; i++) expectError(await h.call("GET", "/v1/tags", { headers: ip }), 401, "unauthorized");
    for (let i = 0; i < LIMIT + 3; i++) expect((await h.call("GET", "/v1/tags", { token: t.token, headers: ip })).status).toBe(200);
    expectError(await h.call("GET", "/v1/tags", { headers: { ...ip, "x-api-key": "pk_live_wrong" } }), 401, "unauthorized");
  });
});
