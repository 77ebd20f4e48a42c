// Requests Parley makes to URLs its users chose (outbound webhooks, automation webhooks): the
// SSRF guard and a bounded fetch. A target must be https, must not name or resolve to a
// private, loopback, link-local, shared, multicast, reserved or cloud-metadata address (IPv4
// literals in any notation and IPv4 inside IPv6 included), redirects are not followed, the
// attempt is timed out and at most `maxBytes` of the answer are read. With
// `allowPrivate` (WEBHOOKS_ALLOW_PRIVATE_TARGETS=true; the local server's default) every check
// but the URL's syntax is off, and http is allowed.
//
// Resolution: on Node with the system resolver; on Workers with DNS over HTTPS (Cloudflare's
// 1.1.1.1 JSON API), because Workers have no resolver API. The address checked is not pinned
// for the fetch that follows (neither runtime lets a fetch connect to a given address), so a
// DNS-rebinding host could still answer differently a moment later; on Workers, fetch cannot
// reach private networks anyway.

export class TargetRefused extends Error {
  override name = "TargetRefused";
}

export type Resolver = (host: string) => Promise<string[]>;

export interface TargetOptions {
  allowPrivate: boolean;
  /** Host → addresses (tests pass a fake); default: the runtime's (see above). */
  resolve?: Resolver;
}

const BLOCKED_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /\.intranet$/, /\.lan$/, /\.home\.arpa$/, /^metadata$/, /^instance-data$/];

/** Parses a URL and refuses what can be refused without DNS; returns the URL. */
export function checkUrlSyntax(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused("Must be an absolute URL.");
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) throw new TargetRefused("Must be an https URL.");
  if (url.username || url.password) throw new TargetRefused("Must not contain credentials.");
  if (!url.hostname) throw new TargetRefused("Must name a host.");
  if (allowPrivate) return url;
  // WHATWG URL parsing already turned 2130706433, 0x7f.1, 017700000001 and friends into
  // dotted quads, and IPv6 into its canonical form, so one check per family covers them.
  const host = url.hostname.replace(/\.$/, "").toLowerCase();
  const literal = ipLiteral(host);
  if (literal) {
    if (isPrivateAddress(literal)) throw new TargetRefused("Must not point to a private, loopback or link-local address.");
  } else {
    if (!host.includes(".") || BLOCKED_NAMES.some((re) => re.test(host))) throw new TargetRefused("Must be a public host name.");
    // A name that is an IPv4 literal in a notation URL did not normalise (it always does for
    // http/https, but stay safe).
    if (/^[0-9.x]+$/i.test(host)) throw new TargetRefused("Must not be a numeric host.");
  }
  return url;
}

/** Full check: syntax, then every address the host resolves to. */
export async function checkTarget(raw: string, opts: TargetOptions): Promise<URL> {
  const url = checkUrlSyntax(raw, opts.allowPrivate);
  if (opts.allowPrivate) return url;
  const host = url.hostname.replace(/\.$/, "").toLowerCase();
  if (ipLiteral(host)) return url;
  let addresses: string[];
  try {
    addresses = await (opts.resolve ?? defaultResolver)(host);
  } catch {
    throw new TargetRefused("The host name does not resolve.");
  }
  if (!addresses.length) throw new TargetRefused("The host name does not resolve.");
  for (const a of addresses) {
    const ip = ipLiteral(a);
    if (!ip || isPrivateAddress(ip)) throw new TargetRefused("The host name resolves to a private, loopback or link-local address.");
  }
  return url;
}

// ---- addresses ----

type Ip = { v: 4; b: number[] } | { v: 6; h: number[] };

/** An IP literal (hostname form: IPv6 in brackets or bare), or null. */
export function ipLiteral(host: string): Ip | null {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const v4 = parseV4(h);
  if (v4) return { v: 4, b: v4 };
  const v6 = parseV6(h);
  return v6 ? { v: 6, h: v6 } : null;
}

function parseV4(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : null;
}

function parseV6(input: string): number[] | null {
  let s = input.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return null;
  // A trailing dotted IPv4 (::ffff:1.2.3.4) becomes two hextets.
  const tail = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (tail) {
    const b = parseV4(tail[1]!);
    if (!b) return null;
    s = `${s.slice(0, -tail[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const part = (x: string) => (x ? x.split(":") : []);
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null;
  const all = [...head, ...Array(fill).fill("0"), ...rest];
  if (all.length !== 8 || !all.every((x) => /^[0-9a-f]{1,4}$/.test(x))) return null;
  return all.map((x) => Number.parseInt(x, 16));
}

function privateV4([a, b, c]: number[]): boolean {
  return (
    a === 0 || // this network
    a === 10 ||
    (a === 100 && b! >= 64 && b! <= 127) || // shared address space (CGNAT)
    a === 127 ||
    (a === 169 && b === 254) || // link-local, cloud metadata (169.254.169.254)
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a! >= 224 // multicast, reserved, broadcast
  );
}

export function isPrivateAddress(ip: Ip): boolean {
  if (ip.v === 4) return privateV4(ip.b);
  const h = ip.h;
  const v4At = (i: number) => [h[i]! >> 8, h[i]! & 255, h[i + 1]! >> 8, h[i + 1]! & 255];
  const zeros = (n: number) => h.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return true; // ::
  if (zeros(7) && h[7] === 1) return true; // ::1
  if (zeros(5) && h[5] === 0xffff) return privateV4(v4At(6)); // IPv4-mapped ::ffff:a.b.c.d
  if (zeros(4) && h[4] === 0xffff && h[5] === 0) return privateV4(v4At(6)); // IPv4-translated
  if (zeros(6)) return true; // IPv4-compatible (deprecated): refuse outright
  if (h[0] === 0x64 && h[1] === 0xff9b) return h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0 ? privateV4(v4At(6)) : true; // NAT64
  if (h[0] === 0x2002) return privateV4(v4At(1)); // 6to4
  if (h[0] === 0x2001 && h[1] === 0) return true; // Teredo (hides an IPv4)
  if (h[0] === 0x2001 && h[1] === 0xdb8) return true; // documentation
  if (h[0] === 0x0100 && h[1] === 0 && h[2] === 0 && h[3] === 0) return true; // discard-only
  if ((h[0]! & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((h[0]! & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((h[0]! & 0xffc0) === 0xfec0) return true; // site-local (deprecated)
  if ((h[0]! & 0xff00) === 0xff00) return true; // multicast
  return false;
}

// ---- resolution ----

const isWorkers = () => typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers";

async function dohResolve(host: string): Promise<string[]> {
  const ask = async (type: "A" | "AAAA") => {
    const res = await fetch(`https://cloudflare-dns.com/dns-query?name=${encodeURIComponent(host)}&type=${type}`, {
      headers: { accept: "application/dns-json" },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`DoH ${res.status}`);
    const j = (await res.json()) as { Answer?: Array<{ type: number; data: string }> };
    // Only address records: a CNAME chain is followed by the resolver and ends in them.
    return (j.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
  };
  const [a, aaaa] = await Promise.all([ask("A"), ask("AAAA")]);
  return [...a, ...aaaa];
}

async function nodeResolve(host: string): Promise<string[]> {
  const dns = await import("node:dns/promises");
  const all = await dns.lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

export const defaultResolver: Resolver = (host) => (isWorkers() ? dohResolve(host) : nodeResolve(host));

// ---- the request ----

export interface OutboundResult {
  /** The answer's status; null when none came (refused target, network error, timeout). */
  status: number | null;
  /** The first bytes of the answer (at most maxBytes, as text). */
  body: string;
  latencyMs: number;
  error: string | null;
}

export interface OutboundOptions extends TargetOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/** POSTs `body` to a checked target: no redirects, a timeout, a bounded read. Never throws. */
export async function postOutbound(raw: string, headers: Record<string, string>, body: string, opts: OutboundOptions): Promise<OutboundResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  try {
    url = await checkTarget(raw, opts);
  } catch (err) {
    return { status: null, body: "", latencyMs: elapsed(), error: `target refused: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    const text = await readBounded(res, opts.maxBytes ?? 16 * 1024);
    const redirect = res.status >= 300 && res.status < 400;
    return { status: res.status, body: text, latencyMs: elapsed(), error: redirect ? "redirects are not followed" : null };
  } catch (err) {
    const e = err as Error;
    const timeout = e?.name === "TimeoutError" || e?.name === "AbortError";
    return { status: null, body: "", latencyMs: elapsed(), error: timeout ? `timed out after ${opts.timeoutMs ?? 10_000} ms` : `request failed: ${e?.message ?? String(err)}` };
  }
}

async function readBounded(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const all = new Uint8Array(Math.min(size, maxBytes));
  let off = 0;
  for (const c of chunks) {
    const take = Math.min(c.byteLength, all.length - off);
    all.set(c.subarray(0, take), off);
    off += take;
    if (off >= all.length) break;
  }
  return new TextDecoder().decode(all);
}
