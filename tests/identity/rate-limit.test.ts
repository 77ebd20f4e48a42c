import { describe, expect, it } from "vitest";
import { type Kv, memoryKv } from "../../lib/kv";
import { countRequest } from "../../lib/rate-limit";
import { createHarness, expectError, unique } from "../support/harness";

// A harness of its own with a tiny limit, so no other test file is affected.
const h = await createHarness({ RATE_LIMIT_PER_MINUTE: "5" });

// Anonymous calls are counted per client address, and Redis may be shared with other test
// files: every anonymous call here comes from an address of its own.
const address = () => `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

async function signUp() {
  const email = `${unique("rl")}@example.com`;
  const password = "password123";
  const r = await h.call("POST", "/v1/workspaces", {
    headers: { "x-forwarded-for": address() },
    body: { name: "Limited", owner: { name: "L", email, password } },
  });
  if (r.status !== 201) throw new Error(`sign-up failed: ${r.status} ${r.text}`);
  return { email, password, token: r.body.access_token as string };
}

describe("rate limit", () => {
  it("answers the 6th request in a minute with 429, Retry-After and X-RateLimit-*", async () => {
    const t = await signUp();
    // 12 tries hold 6 in one window even if a minute boundary falls among them.
    const replies = [];
    for (let i = 0; i < 12; i++) {
      const r = await h.call("GET", "/v1/settings/workspace", { token: t.token });
      replies.push(r);
      if (r.status === 429) break;
    }
    const limited = replies.at(-1)!;
    expect(replies.length).toBeGreaterThanOrEqual(6);
    for (const r of replies.slice(0, -1)) {
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ratelimit-limit")).toBe("5");
      expect(Number(r.headers.get("x-ratelimit-remaining"))).toBeLessThanOrEqual(4);
    }
    const e = expectError(limited, 429, "rate_limit_exceeded");
    expect(e.message).toMatch(/5 requests a minute/);
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(limited.headers.get("x-ratelimit-limit")).toBe("5");
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
  });

  it("counts each credential on its own, and anonymous callers per client address", async () => {
    const a = await signUp();
    // 12 tries hold 6 in one window even if a minute boundary falls among them.
    let last = await h.call("GET", "/v1/auth/me", { token: a.token });
    for (let i = 0; i < 11 && last.status !== 429; i++) last = await h.call("GET", "/v1/auth/me", { token: a.token });
    expectError(last, 429, "rate_limit_exceeded");
    // The same agent signing in again is anonymous, counted by address: a fresh one is not limited.
    const b = await h.call("POST", "/v1/auth/token", { headers: { "x-forwarded-for": address() }, body: { email: a.email, password: a.password } });
    expect(b.status).toBe(200);
    expect(b.headers.get("x-ratelimit-remaining")).toBe("4");
  });
});

describe("countRequest: counting off the request path while far from the limit", () => {
  /** A Kv over a shared store whose increments wait until released: a slow Redis. */
  function slowKv(store: Kv) {
    const held: Array<() => void> = [];
    const kv = { ...store, incr: (k: string, ttl?: number, by?: number) => new Promise<number>((resolve) => held.push(() => void store.incr(k, ttl, by).then(resolve))) } as Kv;
    const release = () => {
      for (const go of held.splice(0)) go();
    };
    return { kv, release, held };
  }
  const collect = () => {
    const pending: Promise<unknown>[] = [];
    return { waitUntil: (p: Promise<unknown>) => void pending.push(p), settle: () => Promise.all(pending.splice(0)) };
  };
  const now = Date.UTC(2026, 0, 1, 12, 0, 10);

  it("waits for Redis the first time and near the limit, not in between", async () => {
    const store = memoryKv();
    const { kv, release, held } = slowKv(store);
    const bg = collect();
    const first = countRequest(kv, "key_1", 10, bg.waitUntil, now);
    expect(held).toHaveLength(1);
    release();
    expect(await first).toBe(1);
    // 2..8 (≤ 80 % of 10): answered at once, counted in the background, one INCRBY at a time:
    // the first on its way, the six that came meanwhile sent together once it returns.
    for (let i = 2; i <= 8; i++) expect(await countRequest(kv, "key_1", 10, bg.waitUntil, now)).toBe(i);
    expect(held).toHaveLength(1);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(held).toHaveLength(1);
    release();
    await bg.settle();
    expect(await store.get(`rl:key_1:${Math.floor(now / 60_000)}`)).toBe("8");
    // 9 and beyond wait for Redis's own total.
    const ninth = countRequest(kv, "key_1", 10, bg.waitUntil, now);
    expect(held).toHaveLength(1);
    release();
    expect(await ninth).toBe(9);
    expect(await store.get(`rl:key_1:${Math.floor(now / 60_000)}`)).toBe("9");
  });

  it("learns other instances' requests from Redis's answers, and a new window starts afresh", async () => {
    const store = memoryKv();
    const a = { kv: { ...store } as Kv, ...collect() };
    const b = { kv: { ...store } as Kv, ...collect() };
    expect(await countRequest(a.kv, "key_2", 100, a.waitUntil, now)).toBe(1);
    for (let i = 0; i < 50; i++) await countRequest(b.kv, "key_2", 100, b.waitUntil, now);
    await b.settle();
    // a knew 1; its background increment brings back the total of both instances.
    expect(await countRequest(a.kv, "key_2", 100, a.waitUntil, now)).toBe(2);
    await a.settle();
    expect(await countRequest(a.kv, "key_2", 100, a.waitUntil, now)).toBe(53);
    expect(await countRequest(a.kv, "key_2", 100, a.waitUntil, now + 60_000)).toBe(1);
  });
});

describe("Kv.incr (in-process, or real Redis through @upstash/redis when REDIS_URL is set)", () => {
  it("increments by one or by n, and gives a new key its time to live once", async () => {
    const key = `test:incr:${unique("k")}`;
    expect(await h.services.kv.incr(key, 60)).toBe(1);
    expect(await h.services.kv.incr(key, 60, 5)).toBe(6);
    const ttl = await h.services.kv.ttl(key);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await h.services.kv.incr(key, 5)).toBe(7);
    // The TTL is set when the key is new (EXPIRE … NX), not pushed back or cut by later increments.
    expect(await h.services.kv.ttl(key)).toBeGreaterThan(50);
    await h.services.kv.del(key);
  });
});
