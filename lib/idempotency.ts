// Stripe-style `Idempotency-Key` for every POST: the first response is kept 24 h and
// replayed for the same key and body; the same key with another body, or while the first
// request is still running, is a 409. Keys are scoped to the caller's workspace.
//
// Redis never holds anything readable: the request's fingerprint is an HMAC under a key derived
// from the server's secret (a plain hash of a login body could be brute-forced for its password),
// and the kept response (which may carry a new API key, a token or a webhook secret) is sealed
// with AES-GCM under a key derived from the server's secret and the client's Idempotency-Key,
// which Redis only sees hashed. And once the request's work is done, a Redis failure while
// keeping its response never turns the real answer into a 503.
import { createMiddleware } from "hono/factory";
import { ApiError, describeError } from "./errors";
import type { AppEnv } from "./env";
import { base64url, sha256Hex } from "./ids";
import { clientAddress } from "./rate-limit";

const TTL = 24 * 60 * 60;
const LOCK_TTL = 60;

interface Stored {
  state: "done";
  fingerprint: string;
  /** AES-GCM nonce and sealed `{status, headers, body}`, base64url. */
  iv: string;
  sealed: string;
}
interface Plain {
  status: number;
  headers: Record<string, string>;
  body: string;
}
interface Pending {
  state: "pending";
  fingerprint: string;
}

const REPLAYED_HEADERS = ["content-type", "location"];

const enc = new TextEncoder();
const dec = new TextDecoder();

async function hmac(secret: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** The AES-GCM key of one (scope, Idempotency-Key): derived from the server's secret, never stored. */
async function sealingKey(secret: string, scope: string, key: string): Promise<CryptoKey> {
  const raw = await hmac(secret, enc.encode(`idempotency-seal\n${scope}\n${key}`));
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

async function seal(k: CryptoKey, plain: Plain): Promise<{ iv: string; sealed: string }> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const out = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, enc.encode(JSON.stringify(plain))));
  return { iv: base64url(iv), sealed: base64url(out) };
}

async function unseal(k: CryptoKey, s: Stored): Promise<Plain> {
  return JSON.parse(dec.decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromB64url(s.iv) }, k, fromB64url(s.sealed))));
}

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
  const { kv, config } = c.var.services;
  const fingerprint = hex(await hmac(`idempotency-fingerprint\n${config.jwtSecret}`, material));
  const kvKey = `idem:${scope}:${await sha256Hex(key)}`;

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
    const kept = await unseal(await sealingKey(config.jwtSecret, scope, key), prior).catch(() => null);
    // Sealed under another server secret (rotated since): the first answer cannot be shown again.
    if (!kept) throw new ApiError("conflict", "This Idempotency-Key was already used; its response can no longer be replayed. Use a new key.", { details: { idempotency_key: key } });
    return new Response(kept.body, { status: kept.status, headers: { ...kept.headers, "Idempotent-Replayed": "true" } });
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
  try {
    const stored: Stored = { state: "done", fingerprint, ...(await seal(await sealingKey(config.jwtSecret, scope, key), { status: res.status, headers, body: text })) };
    await kv.set(kvKey, JSON.stringify(stored), { ex: TTL });
  } catch (err) {
    // The work is done and committed: answer it. The pending claim stays until it expires, so a
    // retry meanwhile is a 409, not a second run.
    console.warn(JSON.stringify({ msg: "idempotent response not kept", request_id: c.get("requestId"), error: describeError(err) }));
  }
});
