// Mailgun's webhook signature, as Mailgun documents it ("Securing webhooks"): `signature` is the hex
// HMAC-SHA256 of `timestamp + token` under the HTTP webhook signing key. Route forwards carry the
// three as form fields, event webhooks in a `signature` object. A request is accepted when the
// HMAC verifies (Web Crypto compares in constant time), the timestamp is within 5 minutes of now,
// and its token was never seen before (Redis SET NX with a time to live past that window).
import type { Kv } from "./kv";
import { sha256Hex } from "./ids";

/** How far a signed timestamp may be from now, either way. */
export const MAX_SKEW_SECONDS = 5 * 60;
/** How long a used token is remembered: longer than any timestamp that could still pass. */
const TOKEN_TTL_SECONDS = 2 * MAX_SKEW_SECONDS + 60;

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

const encoder = new TextEncoder();

async function hmacKey(key: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** The hex signature Mailgun sends for `timestamp` and `token` under `signingKey`. */
export async function signMailgun(timestamp: string, token: string, signingKey: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(signingKey, "sign"), encoder.encode(timestamp + token)));
  let hex = "";
  for (const b of mac) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** A fresh `{timestamp, token, signature}` as Mailgun would send it (the local stand-ins, simulate, tests). */
export async function mailgunSignature(signingKey: string, now = Date.now()): Promise<MailgunSignature> {
  const timestamp = String(Math.floor(now / 1000));
  const bytes = crypto.getRandomValues(new Uint8Array(25));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return { timestamp, token, signature: await signMailgun(timestamp, token, signingKey) };
}

/** The three fields when each is a sane string (a 64-hex signature, a digits timestamp), else null. */
export function parseMailgunSignature(timestamp: unknown, token: unknown, signature: unknown): MailgunSignature | null {
  if (typeof timestamp !== "string" && typeof timestamp !== "number") return null;
  const ts = String(timestamp).trim();
  if (!/^\d{1,12}$/.test(ts)) return null;
  if (typeof token !== "string" || token.length < 8 || token.length > 200 || !/^[\x21-\x7e]+$/.test(token)) return null;
  if (typeof signature !== "string" || !/^[0-9a-fA-F]{64}$/.test(signature.trim())) return null;
  return { timestamp: ts, token, signature: signature.trim().toLowerCase() };
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** True when `sig.signature` is the HMAC of its timestamp and token under `signingKey` (constant time). */
export async function verifyMailgunHmac(sig: MailgunSignature, signingKey: string | undefined): Promise<boolean> {
  if (!signingKey) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(signingKey, "verify"), hexBytes(sig.signature), encoder.encode(sig.timestamp + sig.token));
}

/** True when the signed timestamp is within MAX_SKEW_SECONDS of `now`. */
export function isFresh(sig: MailgunSignature, now = Date.now()): boolean {
  return Math.abs(now / 1000 - Number(sig.timestamp)) <= MAX_SKEW_SECONDS;
}

/**
 * Marks the token used; false when it already was (a replay). Call only once the HMAC has verified,
 * so nobody can spend a token they could not sign.
 */
export async function claimToken(kv: Kv, sig: MailgunSignature): Promise<boolean> {
  return kv.set(`mailgun:token:${await sha256Hex(sig.token)}`, sig.timestamp, { nx: true, ex: TOKEN_TTL_SECONDS });
}

export type SignatureFailure = "missing_signature" | "stale_timestamp" | "signature_mismatch" | "token_reused";
