// Reading a Mailgun route forward (the "fully parsed" format Mailgun POSTs for forward("https://…")):
// addresses, message ids, headers, and the customer's new text without the quoted history.

const MAX_ID = 998; // RFC 5322's line limit bounds any one Message-Id.

/** A message id as stored (Mailgun's and ours): without angle brackets or surrounding space. */
export function bareMessageId(v: string | undefined | null): string | undefined {
  const s = (v ?? "").trim().replace(/^<+/, "").replace(/>+$/, "").trim();
  return s && s.length <= MAX_ID && !/[\s<>]/.test(s) ? s : undefined;
}

/** Every id in an In-Reply-To or References header, in order, without brackets (at most 50). */
export function messageIds(header: string | undefined | null): string[] {
  if (!header) return [];
  const found = [...header.matchAll(/<([^<>\s]{1,998})>/g)].map((m) => m[1]!);
  // Some mailers leave the brackets out: then the header is a list of bare ids.
  const ids = found.length ? found : header.split(/[\s,]+/).filter((s) => s.includes("@"));
  const out: string[] = [];
  for (const id of ids) {
    const bare = bareMessageId(id);
    if (bare && !out.includes(bare)) out.push(bare);
  }
  return out.slice(-50);
}

const EMAIL_RE = /^[^\s@<>(),;:"[\]\\]{1,64}@[^\s@<>(),;:"[\]\\]{1,253}$/;

export interface Address {
  email: string;
  name?: string;
}

/**
 * The first mailbox of an address header (`"Ada L." <ada@example.com>`, `ada@example.com (Ada)`,
 * `ada@example.com`), lower-cased, or undefined when there is none.
 */
export function parseAddress(v: string | undefined | null): Address | undefined {
  const s = (v ?? "").trim().slice(0, 2000);
  if (!s) return undefined;
  const angle = /^(.*?)<([^<>]+)>/.exec(s);
  if (angle) {
    const email = angle[2]!.trim().toLowerCase();
    if (!EMAIL_RE.test(email)) return undefined;
    const name = unquote(angle[1]!);
    return name ? { email, name } : { email };
  }
  const first = s.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)[0]!.trim();
  const comment = /^(\S+)\s*\((.*)\)$/.exec(first);
  const email = (comment ? comment[1]! : first).toLowerCase();
  if (!EMAIL_RE.test(email)) return undefined;
  const name = comment ? unquote(comment[2]!) : undefined;
  return name ? { email, name } : { email };
}

function unquote(s: string): string | undefined {
  const t = s
    .trim()
    .replace(/^"(.*)"$/s, "$1")
    .replace(/\\(.)/g, "$1")
    .trim();
  return t ? t.slice(0, 200) : undefined;
}

/** Every address of a header such as To or Cc (lower-cased, deduplicated, at most 50). */
export function parseAddressList(v: string | undefined | null): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (const part of v.slice(0, 20_000).split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const a = parseAddress(part);
    if (a && !out.includes(a.email)) out.push(a.email);
  }
  return out.slice(0, 50);
}

/**
 * `message-headers`: Mailgun's JSON list of `[name, value]` pairs, order kept. Anything else
 * (absent, malformed, pairs that are not two strings) gives what could be read.
 */
export function parseHeaderList(v: string | undefined): Array<[string, string]> {
  if (!v) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: Array<[string, string]> = [];
  for (const pair of parsed.slice(0, 1000)) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") out.push([pair[0], pair[1]]);
  }
  return out;
}

// Where quoted history starts in a plain-text reply: "On <date>, <name> wrote:" (Gmail, Apple
// Mail, Thunderbird; possibly wrapped over two lines), Outlook's separators, and "From: … Sent: …".
const ATTRIBUTION = /^\s*On\b[^\n]{0,300}?(\n[^\n]{0,300}?)?\bwrote:\s*$/im;
const SEPARATORS = [
  /^\s*-{2,}\s*Original Message\s*-{2,}\s*$/im,
  /^\s*_{10,}\s*$/m,
  /^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$/im,
  /^\s*From:\s.*\n\s*(Sent|Date):\s/im,
];

/**
 * The new part of a plain-text reply: everything before the first attribution line or separator,
 * without `>` quoted lines, the signature after `-- `, and trailing blank lines.
 */
export function stripQuoted(text: string): string {
  let t = text.replace(/\r\n?/g, "\n");
  let cut = t.length;
  for (const re of [ATTRIBUTION, ...SEPARATORS]) {
    const m = re.exec(t);
    if (m && m.index < cut) cut = m.index;
  }
  t = t.slice(0, cut);
  const lines: string[] = [];
  for (const line of t.split("\n")) {
    if (/^-- ?$/.test(line)) break; // the conventional signature delimiter
    if (/^\s*>/.test(line)) continue;
    lines.push(line);
  }
  return lines.join("\n").trim();
}

// Control characters other than tab and newlines, NUL, and lone surrogates cannot (or should not)
// be stored; an email may still carry them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
const UNSTORABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text made storable (no NUL, no lone surrogates, no control characters but tab/newline), cut to `max`. */
export function cleanText(v: string | undefined, max: number): string {
  if (!v) return "";
  // Cut first, then clean: a cut through a surrogate pair leaves a lone half, which is removed.
  return v.replace(/\r\n?/g, "\n").slice(0, max).replace(UNSTORABLE, "");
}

/** A one-line value (subject, names): control characters and newlines removed, cut to `max`. */
export function cleanLine(v: string | undefined, max: number): string {
  return cleanText(v, max * 2)
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, max);
}
