// Signed, expiring download links for stored files (uploads, attachments, exports): an absolute
// URL that serves the bytes without credentials until it expires. The HMAC-SHA256 (key
// FILES_SIGNING_KEY) covers the file id, its workspace and the expiry, so changing any of them,
// or the signature, is refused. Web Crypto only: the same code runs on Workers and in Node.
import { base64url } from "./ids";

/** How long a link handed out by the API stays valid. */
export const DOWNLOAD_TTL_SECONDS = 15 * 60;
/** The public path that serves a file's bytes (allowed without credentials in lib/auth.ts). */
export const CONTENT_PATH = /^\/v1\/files\/[^/]+\/content\/?$/;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, k);
  }
  return k;
}

const payload = (fileId: string, workspaceId: string, expires: number) => `parley-file-v1\n${fileId}\n${workspaceId}\n${expires}`;

export async function signature(secret: string, fileId: string, workspaceId: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(payload(fileId, workspaceId, expires)));
  return base64url(new Uint8Array(mac));
}

export interface SignedLink {
  url: string;
  expires_at: string;
}

/** The link to `fileId`'s bytes, valid for `ttl` seconds from `now` (ms). */
export async function signedFileUrl(
  opts: { secret: string; baseUrl: string },
  file: { id: string; workspaceId: string },
  ttl = DOWNLOAD_TTL_SECONDS,
  now = Date.now(),
): Promise<SignedLink> {
  const expires = Math.floor(now / 1000) + ttl;
  const sig = await signature(opts.secret, file.id, file.workspaceId, expires);
  const base = opts.baseUrl.replace(/\/+$/, "");
  const q = new URLSearchParams({ ws: file.workspaceId, expires: String(expires), signature: sig });
  return { url: `${base}/v1/files/${encodeURIComponent(file.id)}/content?${q}`, expires_at: new Date(expires * 1000).toISOString() };
}

export type LinkCheck = { ok: true; workspaceId: string } | { ok: false; reason: "invalid" | "expired" };

/** Checks a link's query against the file id in its path. Constant-time on the signature. */
export async function verifyFileLink(secret: string, fileId: string, q: { ws?: string; expires?: string; signature?: string }, now = Date.now()): Promise<LinkCheck> {
  const { ws, expires, signature: given } = q;
  if (!ws || !expires || !given || !/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(given) || ws.length > 100) return { ok: false, reason: "invalid" };
  const expected = await signature(secret, fileId, ws, Number(expires));
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  if (diff !== 0) return { ok: false, reason: "invalid" };
  // Checked after the signature, so an expiry moved into the future reads as tampering.
  if (Number(expires) * 1000 <= now) return { ok: false, reason: "expired" };
  return { ok: true, workspaceId: ws };
}

/**
 * `Content-Disposition` for a user-supplied filename: an ASCII fallback without quotes,
 * backslashes, separators or control characters, and the exact name as RFC 5987 `filename*`.
 */
export function contentDisposition(filename: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const cleaned = filename.replace(/[\u0000-\u001f\u007f]/g, "").trim() || "download";
  const ascii = cleaned.replace(/[^\x20-\x7e]/g, "_").replace(/["\\/;]/g, "_").slice(0, 200) || "download";
  const encoded = encodeURIComponent(cleaned.replace(/[\\/]/g, "_")).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
