// The Workers' service provider: what is built per request and what an isolate keeps.
import { describe, expect, it } from "vitest";
import type { Env } from "../../lib/env";
import { workerServices } from "../../lib/worker";

const env = (token: string): Env => ({
  DATABASE_URL: "postgres://user:pw@db.example.com/neondb",
  UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: token,
  JWT_SECRET: "x".repeat(32),
});
const request = (e: Env) => workerServices()({ env: e, waitUntil: () => {}, defer: () => {} });

describe("workerServices", () => {
  it("shares one Redis client across an isolate's requests (the rate limiter's knowledge lives on it)", () => {
    const a = request(env("token-a"));
    const b = request(env("token-a"));
    expect(a).not.toBe(b);
    expect(a.kv).toBe(b.kv);
    expect(request(env("token-b")).kv).not.toBe(a.kv);
  });

  it("builds a request's services lazily: config at once, no database before it is used", () => {
    const s = request(env("token-a"));
    expect(s.config).toMatchObject({ environment: expect.any(String), rateLimitPerMinute: 1000 });
    expect(Object.getOwnPropertyDescriptor(s, "db")?.get).toBeTypeOf("function");
  });
});
