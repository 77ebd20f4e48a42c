// Mailgun's messages API over fetch: `POST {base}/v3/{domain}/messages` as multipart/form-data
// with HTTP basic auth `api:<key>`, and what its answers mean for Parley (sent, refused for good,
// the account's key refused, or try again later). Webhook signatures are lib/mailgun-signature.ts.
// Web Crypto, fetch and FormData only, so it runs on Workers and in Node alike.

export const DEFAULT_MAILGUN_URL = "https://api.mailgun.net";
/** A send not answered within this counts as a transient failure (the job is retried). */
const SEND_TIMEOUT_MS = 15_000;

/** Parley's own Mailgun account (MAILGUN_BASE_URL, MAILGUN_API_KEY, MAILGUN_DOMAIN). */
export interface MailgunConfig {
  baseUrl: string;
  apiKey?: string;
  domain?: string;
}

/** The account one email is sent through: a channel's own, or the platform's. */
export interface MailgunAccount {
  baseUrl: string;
  domain: string;
  apiKey: string;
  /** `channel`: the channel's own mailgun_domain/mailgun_api_key; `platform`: Parley's. */
  owner: "channel" | "platform";
}

export interface MailgunAttachment {
  filename: string;
  contentType: string;
  data: Uint8Array<ArrayBuffer>;
}

export interface MailgunMessage {
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  subject: string;
  text?: string | null;
  html?: string | null;
  /** Extra MIME headers, sent as `h:<name>` (Message-Id, In-Reply-To, References). */
  headers?: Record<string, string>;
  /** Custom variables, sent as `v:<name>`; Mailgun echoes them in every event's user-variables. */
  variables?: Record<string, string>;
  attachments?: MailgunAttachment[];
}

/**
 * What a send came to:
 * - `sent`: Mailgun queued it; `id` is its Message-Id without the angle brackets.
 * - `unauthorized`: the account's API key was refused (401/403): the email fails and the
 *   channel goes to `status: "error"`.
 * - `rejected`: Mailgun refused this message for good (400: a bad address, a missing field).
 * - `retry`: Mailgun is down, rate limiting or unreachable: try again later.
 */
export type MailgunOutcome =
  | { kind: "sent"; id: string; message: string }
  | { kind: "unauthorized"; code: "channel_unauthorized"; message: string; status: number }
  | { kind: "rejected"; code: "provider_rejected"; message: string; status: number }
  | { kind: "retry"; reason: string; status?: number };

/** `<id@domain>` → `id@domain` (Mailgun answers ids in brackets; Parley stores them bare). */
export const bareMessageId = (id: string) => id.trim().replace(/^<+|>+$/g, "");

/** The multipart body Mailgun documents for `POST /v3/{domain}/messages`. */
export function mailgunForm(m: MailgunMessage): FormData {
  const form = new FormData();
  form.append("from", m.from);
  for (const to of m.to) form.append("to", to);
  for (const cc of m.cc ?? []) form.append("cc", cc);
  for (const bcc of m.bcc ?? []) form.append("bcc", bcc);
  form.append("subject", m.subject);
  if (m.text) form.append("text", m.text);
  if (m.html) form.append("html", m.html);
  for (const [name, value] of Object.entries(m.headers ?? {})) form.append(`h:${name}`, value);
  for (const [name, value] of Object.entries(m.variables ?? {})) form.append(`v:${name}`, value);
  for (const a of m.attachments ?? []) form.append("attachment", new Blob([a.data], { type: a.contentType }), a.filename);
  return form;
}

/** Reads one Mailgun answer into a MailgunOutcome. */
export function interpretMailgunAnswer(status: number, text: string): MailgunOutcome {
  const body = parseJson(text);
  const said = typeof body?.message === "string" ? body.message : text.slice(0, 300).trim();
  if (status >= 200 && status < 300) {
    if (typeof body?.id === "string" && bareMessageId(body.id)) return { kind: "sent", id: bareMessageId(body.id), message: said };
    // A 2xx without an id is not an answer we can trust to have queued anything.
    return { kind: "retry", reason: "Mailgun answered without a message id", status };
  }
  if (status === 401 || status === 403) {
    return {
      kind: "unauthorized",
      code: "channel_unauthorized",
      message: `Mailgun refused the account's API key (HTTP ${status}${said ? `: ${said.slice(0, 200)}` : ""}): check the channel's mailgun_api_key and mailgun_domain, or MAILGUN_API_KEY/MAILGUN_DOMAIN.`,
      status,
    };
  }
  if (status === 429 || status >= 500 || status === 408) return { kind: "retry", reason: `Mailgun answered HTTP ${status}${said ? `: ${said.slice(0, 200)}` : ""}`, status };
  return { kind: "rejected", code: "provider_rejected", message: `Mailgun refused the message: ${said.slice(0, 500) || `HTTP ${status}`}`, status };
}

/** Mailgun answers 401 with the bare text "Forbidden"; proxies answer HTML: those are judged by status. */
function parseJson(text: string): { id?: unknown; message?: unknown } | null {
  try {
    const v: unknown = text ? JSON.parse(text) : null;
    return v && typeof v === "object" ? (v as { id?: unknown; message?: unknown }) : null;
  } catch {
    return null;
  }
}

export interface MailgunSendOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Sends one message. Never throws: a network failure or timeout is a `retry` outcome. */
export async function sendMailgun(account: MailgunAccount, message: MailgunMessage, opts: MailgunSendOptions = {}): Promise<MailgunOutcome> {
  const url = `${account.baseUrl.replace(/\/+$/, "")}/v3/${encodeURIComponent(account.domain)}/messages`;
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`api:${account.apiKey}`)}` },
      body: mailgunForm(message),
      signal: AbortSignal.timeout(opts.timeoutMs ?? SEND_TIMEOUT_MS),
    });
  } catch (err) {
    return { kind: "retry", reason: `Mailgun unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const text = await res.text().catch(() => "");
  return interpretMailgunAnswer(res.status, text);
}
