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
  header = header.slice(-100_000); // References grow at the front; the newest ids are last
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
  const first = splitOutsideQuotes(s)[0]!.trim();
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
  for (const part of splitOutsideQuotes(v.slice(0, 20_000)).slice(0, 500)) {
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
// Each pattern looks at one line (or two) and never lets whitespace run across lines: a body is
// whatever a sender wrote, and a pattern that backtracks over it would let one email burn seconds.
const ATTRIBUTION_START = /^[ \t]*On\b/i;
const WROTE_END = /\bwrote:[ \t]*$/i;
const SEPARATOR_LINES = [/^[ \t]*-{2,}[ \t]*Original Message[ \t]*-{2,}[ \t]*$/i, /^[ \t]*_{10,}[ \t]*$/, /^[ \t]*-{2,}[ \t]*Forwarded message[ \t]*-{2,}[ \t]*$/i];
const FROM_LINE = /^[ \t]*From:[ \t]/i;
const SENT_LINE = /^[ \t]*(Sent|Date):[ \t]/i;
/** Only this much of a body is searched for where its new part ends. */
const MAX_SCAN = 200_000;

/** The index of the first line where quoted history starts, or lines.length. */
function historyStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length <= 1000 && ATTRIBUTION_START.test(line)) {
      if (WROTE_END.test(line)) return i;
      const next = lines[i + 1];
      if (next !== undefined && next.length <= 1000 && WROTE_END.test(next)) return i;
    }
    if (line.length <= 1000 && SEPARATOR_LINES.some((re) => re.test(line))) return i;
    if (FROM_LINE.test(line) && SENT_LINE.test(lines[i + 1] ?? "")) return i;
  }
  return lines.length;
}

/**
 * The new part of a plain-text reply: everything before the first attribution line or separator,
 * without `>` quoted lines, the signature after `-- `, and surrounding blank lines.
 */
export function stripQuoted(text: string): string {
  const lines = text.slice(0, MAX_SCAN).replace(/\r\n?/g, "\n").split("\n");
  const kept: string[] = [];
  for (const line of lines.slice(0, historyStart(lines))) {
    if (/^-- ?$/.test(line)) break; // the conventional signature delimiter
    if (/^[ \t]*>/.test(line)) continue;
    kept.push(line);
  }
  return kept.join("\n").trim();
}

/** Splits a header at commas outside double quotes (one pass; no backtracking). */
function splitOutsideQuotes(v: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      parts.push(v.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(v.slice(from));
  return parts;
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
