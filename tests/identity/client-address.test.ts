// Anonymous callers are rate limited by their address. On the local server that address is the
// socket's: headers a client sends (X-Forwarded-For, CF-Connecting-IP) cannot give it a fresh
// allowance per request. Behind a reverse proxy, TRUST_PROXY=1 takes X-Forwarded-For instead.
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../lib/local/server";

const strict = await startServer({ dataDir: null, port: 0, env: { RATE_LIMIT_PER_MINUTE: "3" }, environment: "test" });
const proxied = await startServer({ dataDir: null, port: 0, env: { RATE_LIMIT_PER_MINUTE: "3", TRUST_PROXY: "1" }, environment: "test" });
afterAll(async () => {
  await strict.close();
  await proxied.close();
});

let n = 0;
/** A failed sign-in (anonymous), claiming to come from a new address each time. */
const signIn = (base: string, headers: Record<string, string>) =>
  fetch(`${base}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email: `nobody-${n++}@example.com`, password: "wrong-password" }),
  });

describe("the anonymous caller's address on the local server", () => {
  it("is the socket's: spoofed forwarding headers do not reset the limit", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await signIn(strict.url, { "x-forwarded-for": `203.0.113.${i}`, "cf-connecting-ip": `198.51.100.${i}` });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    // 8 tries hold 4 in one window even if a minute boundary falls among them.
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(6);
  });

  it("with TRUST_PROXY=1 is X-Forwarded-For's first entry, so each forwarded client has its own allowance", async () => {
    for (let i = 0; i < 8; i++) {
      const r = await signIn(proxied.url, { "x-forwarded-for": `203.0.113.${i}, 10.0.0.1` });
      expect(r.status).toBe(401);
      expect(r.headers.get("x-ratelimit-remaining")).toBe("2");
    }
    // One forwarded client alone is still limited.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await signIn(proxied.url, { "x-forwarded-for": "203.0.113.200" })).status);
    expect(statuses).toContain(429);
  });
});
