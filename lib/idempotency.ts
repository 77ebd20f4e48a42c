// Stripe-style `Idempotency-Key` for every POST: the first response is kept 24 h and
// replayed for the same key and body; the same key with another body, or while the first
// request is still running, is a 409. Keys are scoped to the caller's workspace.
import { createMiddleware } from "hono/factory";
import { ApiError } from "./errors";
import type { AppEnv } from "./env";
import { sha256Hex } from "./ids";
import { clientAddress } from "./rate-limit";

const TTL = 24 * 60 * 60;
const LOCK_TTL = 60;

interface Stored {
  state: "done";
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}
interface Pending {
  state: "pending";
  fingerprint: string;
}

const REPLAYED_HEADERS = ["content-type", "location"];

export const idempotency = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (c.req.method !== "POST" || key === undefined) return next();
  if (!key || key.length > 255) throw new ApiError("bad_request", "Idempotency-Key must be 1 to 255 characters.");

  const p = c.get("principal");
  const scope = p ? p.workspaceId : `anon:${clientAddress((n) => c.req.header(n), c.env)}`;
  // Hono keeps the body it read, so the handler (and the JSON depth check before) read it too.
  const body = new Uint8Array(await c.req.arrayBuffer());
  // The caller is part of the fingerprint: within a workspace, another agent or key reusing the
  // key gets a 409, never a replay of someone else's response (which may hold a secret).
  const caller = p ? (p.agentId ?? p.apiKeyId ?? "") : "";
  const head = new TextEncoder().encode(`${c.req.method} ${c.req.path}\n${c.req.header("content-type") ?? ""}\n${caller}\n`);
  const material = new Uint8Array(head.length + body.length);
  material.set(head);
  material.set(body, head.length);
  const fingerprint = await sha256Hex(material);
  const kvKey = `idem:${scope}:${await sha256Hex(key)}`;
  const { kv } = c.var.services;

  const claimed = await kv.set(kvKey, JSON.stringify({ state: "pending", fingerprint } satisfies Pending), { ex: LOCK_TTL, nx: true });
  if (!claimed) {
    const raw = await kv.get(kvKey);
    const prior = raw ? (JSON.parse(raw) as Stored | Pending) : null;
    if (!prior) throw new ApiError("conflict", "A request with this Idempotency-Key is being processed; retry shortly.");
    if (prior.fingerprint !== fingerprint) {
      throw new ApiError("conflict", "This Idempotency-Key was already used with different parameters.", { details: { idempotency_key: key } });
    }
    if (prior.state === "pending") {
      throw new ApiError("conflict", "A request with this Idempotency-Key is still being processed; retry shortly.");
    }
    return new Response(prior.body, { status: prior.status, headers: { ...prior.headers, "Idempotent-Replayed": "true" } });
  }

  try {
    await next();
  } catch (err) {
    await kv.del(kvKey).catch(() => {});
    throw err;
  }
  const res = c.res;
  // Server-side failures, rate limits and streams are not kept: the client may simply retry.
  if (res.status >= 500 || res.status === 429 || (res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    await kv.del(kvKey).catch(() => {});
    return;
  }
  const text = await res.clone().text();
  const headers: Record<string, string> = {};
  for (const h of REPLAYED_HEADERS) {
    const v = res.headers.get(h);
    if (v) headers[h] = v;
  }
  const stored: Stored = { state: "done", fingerprint, status: res.status, headers, body: text };
  await kv.set(kvKey, JSON.stringify(stored), { ex: TTL });
});
