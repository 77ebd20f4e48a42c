// Password hashing with PBKDF2-SHA256 through WebCrypto (works in workerd and Node alike).
// 100,000 iterations is workerd's cap; every hash has its own 16-byte salt.
import { base64url } from "./ids";

const ITERATIONS = 100_000;
const enc = new TextEncoder();

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (ch) => ch.charCodeAt(0));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, ITERATIONS);
  return `pbkdf2_sha256$${ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

/** Compares in constant time; a malformed stored hash is simply "no match". */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iter, saltB64, hashB64] = stored.split("$");
  const iterations = Number(iter);
  if (scheme !== "pbkdf2_sha256" || !saltB64 || !hashB64 || !Number.isInteger(iterations) || iterations <= 0) {
    await derive(password, new Uint8Array(16), ITERATIONS);
    return false;
  }
  const expected = fromBase64url(hashB64);
  const actual = await derive(password, fromBase64url(saltB64), iterations);
  return timingSafeEqual(expected, actual);
}

/** Burns the same time as a real verification (unknown email answers like a wrong password). */
export async function verifyNothing(password: string): Promise<false> {
  await derive(password, new Uint8Array(16), ITERATIONS);
  return false;
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
