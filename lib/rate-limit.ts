// Fixed-window rate limit per credential (per client address when anonymous), counted in
// Redis, with the contract's X-RateLimit-* headers on every /v1 answer.
import { createMiddleware } from "hono/factory";
import { ApiError } from "./errors";
import type { AppEnv } from "./env";

const WINDOW = 60;

export function clientAddress(header: (name: string) => string | undefined): string {
  return header("cf-connecting-ip") ?? header("x-forwarded-for")?.split(",")[0]?.trim() ?? "local";
}

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.req.path.startsWith("/v1/")) return next();
  const { kv, config } = c.var.services;
  const limit = config.rateLimitPerMinute;
  const p = c.get("principal");
  const who = p ? (p.apiKeyId ?? p.agentId ?? p.workspaceId) : `ip:${clientAddress((n) => c.req.header(n))}`;
  const window = Math.floor(Date.now() / 1000 / WINDOW);
  const reset = (window + 1) * WINDOW;
  let count: number;
  try {
    count = await kv.incr(`rl:${who}:${window}`, WINDOW + 5);
  } catch (err) {
    // Rate limiting fails open: a Redis outage must not take the whole API down with it.
    console.warn(JSON.stringify({ msg: "rate limit unavailable", request_id: c.get("requestId"), error: String(err) }));
    return next();
  }
  const headers = {
    "X-RateLimit-Limit": String(limit),
    "X-RateLimit-Remaining": String(Math.max(0, limit - count)),
    "X-RateLimit-Reset": String(reset),
  };
  if (count > limit) {
    throw new ApiError("rate_limit_exceeded", `Rate limit of ${limit} requests a minute exceeded.`, {
      headers: { ...headers, "Retry-After": String(Math.max(1, reset - Math.floor(Date.now() / 1000))) },
    });
  }
  await next();
  for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
});
