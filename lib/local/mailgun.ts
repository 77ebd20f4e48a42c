// A local stand-in for Mailgun's messages API, for the embedded default and the tests (Mailgun
// cannot be reached from here). It speaks Mailgun's protocol on loopback: `POST
// /v3/{domain}/messages`, HTTP basic auth `api:<key>`, a multipart/form-data (or urlencoded)
// form with from, to, cc, bcc, subject, text, html, `h:<header>`, `v:<variable>` and
// `attachment` parts; it answers 200 `{"id": "<…@domain>", "message": "Queued. Thank you."}`,
// 401 `Forbidden`, or 400 `{"message": …}` as Mailgun does. It records every accepted message,
// can be told to fail (a revoked key, a scripted 400/429/5xx), and posts signed event webhooks
// (`{signature: {timestamp, token, signature}, "event-data": {…}}`) back to
// /inbound/mailgun/events, signed as Mailgun signs them.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { bareMessageId } from "../mailgun";
import { mailgunSignature } from "../mailgun-signature";

export type Deliver = (req: Request) => Promise<Response>;
export type MailgunEventName = "accepted" | "delivered" | "failed" | "opened" | "clicked" | "complained" | "unsubscribed";

export interface MailgunSend {
  domain: string;
  apiKey: string;
  /** Message-Id without angle brackets (what events carry in message.headers["message-id"]). */
  id: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** `h:` parts, by header name as sent. */
  headers: Record<string, string>;
  /** `v:` parts. */
  variables: Record<string, string>;
  attachments: Array<{ filename: string; contentType: string; size: number }>;
  at: Date;
}

export interface ScriptedFailure {
  /** HTTP status to answer: 400 (refused), 401 (key), 429, 5xx. */
  status: number;
  message?: string;
}

export interface LocalMailgunOptions {
  host?: string;
  port?: number;
  /** The API keys accepted for `domain` (the platform's for its domain, channels' for theirs). */
  keysFor: (domain: string) => Promise<string[]> | string[];
  /** The key events of `domain` are signed with (a channel's webhook_signing_key, else the platform's). */
  signingKeyFor: (domain: string) => Promise<string | undefined> | string | undefined;
  /** Where event webhooks go (…/inbound/mailgun/events), read when one is sent. */
  webhookUrl: () => string;
  /** How a webhook reaches that URL: fetch by default; the harness hands in its dispatch. */
  deliver?: Deliver;
  /** Events posted after each accepted message, per recipient (the local server: delivered); none in tests. */
  autoEvents?: MailgunEventName[];
  autoEventDelayMs?: number;
}

const ADDRESS = /^(?:[^<>]*<\s*[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+\s*>|[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+)$/;
/** Mailgun's to/cc/bcc: each part may hold several comma-separated addresses. */
const addresses = (parts: string[]) =>
  parts
    .flatMap((p) => p.split(","))
    .map((a) => a.trim())
    .filter(Boolean);
const bareAddress = (a: string) => (/<([^>]+)>/.exec(a)?.[1] ?? a).trim().toLowerCase();
const eventId = () => randomBytes(16).toString("base64").replace(/[+/=]/g, "").slice(0, 22);

export class LocalMailgun {
  readonly sends: MailgunSend[] = [];
  private readonly revoked = new Set<string>();
  private readonly scripted: ScriptedFailure[] = [];
  private deliver: Deliver;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly opts: LocalMailgunOptions,
  ) {
    this.deliver = opts.deliver ?? ((req) => fetch(req));
  }

  static async start(opts: LocalMailgunOptions): Promise<LocalMailgun> {
    let self: LocalMailgun | undefined;
    const server = createServer(getRequestListener((req) => self!.handle(req)));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new LocalMailgun(server, `http://127.0.0.1:${port}`, opts);
    return self;
  }

  /** Routes webhooks through `deliver` (the harness: its in-process dispatch). */
  deliverVia(deliver: Deliver) {
    this.deliver = deliver;
  }

  /** From now on `apiKey` is refused (401 Forbidden), as a deleted or rotated key is. */
  revokeKey(apiKey: string) {
    this.revoked.add(apiKey);
  }

  /** The next send(s) are answered with these failures, in order, instead of being accepted. */
  failNext(...failures: ScriptedFailure[]) {
    this.scripted.push(...failures);
  }

  /** Messages accepted with `to` (or cc/bcc) containing `address`. */
  sentTo(address: string) {
    const a = address.toLowerCase();
    return this.sends.filter((s) => [...s.to, ...s.cc, ...s.bcc].some((x) => bareAddress(x) === a));
  }

  /** The message with this Message-Id (brackets optional). */
  byId(id: string) {
    const bare = bareMessageId(id);
    return this.sends.find((s) => s.id === bare);
  }

  /** The Mailgun event webhook body for an accepted message, signed with `signingKey`. */
  async eventPayload(send: MailgunSend, event: MailgunEventName, signingKey: string, recipient = bareAddress(send.to[0] ?? "")) {
    const data: Record<string, unknown> = {
      id: eventId(),
      event,
      timestamp: Date.now() / 1000,
      "log-level": event === "failed" ? "error" : "info",
      recipient,
      "recipient-domain": recipient.split("@")[1] ?? "",
      message: {
        headers: { "message-id": send.id, from: send.from, to: send.to.join(", "), subject: send.subject },
        attachments: send.attachments.map((a) => ({ filename: a.filename, "content-type": a.contentType, size: a.size })),
        size: (send.text?.length ?? 0) + (send.html?.length ?? 0),
      },
      "user-variables": { ...send.variables },
      envelope: { sender: bareAddress(send.from), targets: recipient, transport: "smtp" },
      flags: { "is-routed": false, "is-authenticated": true, "is-system-test": false, "is-test-mode": false },
      tags: [],
      campaigns: [],
    };
    if (event === "delivered") {
      data["delivery-status"] = { code: 250, message: "OK", description: "", "attempt-no": 1, "session-seconds": 0.4, tls: true, "mx-host": "mx.local" };
    } else if (event === "failed") {
      data.severity = "permanent";
      data.reason = "bounce";
      data["delivery-status"] = { code: 550, message: "5.1.1 The email account that you tried to reach does not exist.", description: "", "attempt-no": 1 };
    }
    return { signature: await mailgunSignature(signingKey), "event-data": data };
  }

  /** Posts a signed event webhook for a message this stand-in accepted; resolves to the answer. */
  async emitEvent(id: string, event: MailgunEventName, opts: { recipient?: string } = {}): Promise<Response> {
    const send = this.byId(id);
    if (!send) throw new Error(`LocalMailgun: no message with id ${id}`);
    const key = await this.opts.signingKeyFor(send.domain);
    if (!key) throw new Error("LocalMailgun: no webhook signing key to sign events with");
    const payload = await this.eventPayload(send, event, key, opts.recipient);
    return this.deliver(
      new Request(this.opts.webhookUrl(), {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "mailgun/treq-16.12.0" },
        body: JSON.stringify(payload),
      }),
    );
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/v3\/([^/]+)\/messages\/?$/.exec(url.pathname);
    if (!m) return json(404, { message: "Not Found" });
    if (req.method !== "POST") return json(405, { message: "Method Not Allowed" });
    const domain = decodeURIComponent(m[1]!);
    const key = basicKey(req.headers.get("authorization"));
    if (!key || this.revoked.has(key) || !(await this.opts.keysFor(domain)).includes(key)) {
      return new Response("Forbidden", { status: 401, headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    let form: FormData;
    try {
      form = await req.formData();
    } catch {
      return json(400, { message: "Invalid request: the body must be multipart/form-data or application/x-www-form-urlencoded" });
    }
    const str = (name: string) => form.getAll(name).filter((v): v is string => typeof v === "string");
    const from = str("from")[0];
    if (!from) return json(400, { message: "from parameter is missing" });
    const to = addresses(str("to"));
    if (!to.length) return json(400, { message: "to parameter is missing" });
    const cc = addresses(str("cc"));
    const bcc = addresses(str("bcc"));
    for (const [field, list] of [["from", [from]], ["to", to], ["cc", cc], ["bcc", bcc]] as const) {
      if (list.some((a) => !ADDRESS.test(a))) return json(400, { message: `'${field}' parameter is not a valid address. please check documentation` });
    }
    const subject = str("subject")[0];
    if (subject === undefined) return json(400, { message: "subject parameter is missing" });
    const text = str("text")[0];
    const html = str("html")[0];
    if (!text && !html) return json(400, { message: "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified" });

    const scripted = this.scripted.shift();
    if (scripted) {
      if (scripted.status === 401 || scripted.status === 403) return new Response("Forbidden", { status: scripted.status });
      return json(scripted.status, { message: scripted.message ?? (scripted.status >= 500 ? "Internal Server Error" : "Bad Request") });
    }

    const headers: Record<string, string> = {};
    const variables: Record<string, string> = {};
    const attachments: MailgunSend["attachments"] = [];
    for (const [name, value] of form.entries()) {
      if (name.startsWith("h:") && typeof value === "string") headers[name.slice(2)] = value;
      else if (name.startsWith("v:") && typeof value === "string") variables[name.slice(2)] = value;
      else if (name === "attachment" && typeof value !== "string") attachments.push({ filename: value.name, contentType: value.type, size: value.size });
    }
    const given = Object.entries(headers).find(([n]) => n.toLowerCase() === "message-id")?.[1];
    const id = given ? bareMessageId(given) : `${stamp()}.${randomBytes(8).toString("hex")}@${domain}`;
    const send: MailgunSend = { domain, apiKey: key, id, from, to, cc, bcc, subject, text, html, headers, variables, attachments, at: new Date() };
    this.sends.push(send);
    this.scheduleEvents(send);
    return json(200, { id: `<${id}>`, message: "Queued. Thank you." });
  }

  private scheduleEvents(send: MailgunSend) {
    const events = this.opts.autoEvents ?? [];
    const delay = this.opts.autoEventDelayMs ?? 500;
    const recipients = [...send.to, ...send.cc, ...send.bcc].map(bareAddress);
    events.forEach((event, i) => {
      for (const recipient of recipients) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          const p = this.emitEvent(send.id, event, { recipient })
            .then((r) => r.body?.cancel())
            .catch((err) => console.warn(JSON.stringify({ msg: "local mailgun: event webhook failed", event, error: String(err) })))
            .finally(() => this.inflight.delete(p));
          this.inflight.add(p);
        }, delay * (i + 1));
        this.timers.add(t);
      }
    });
  }

  async close() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The key of `Authorization: Basic base64(api:<key>)`, else undefined. */
function basicKey(header: string | null): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? "");
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0 || decoded.slice(0, colon) !== "api") return undefined;
  return decoded.slice(colon + 1) || undefined;
}

/** Mailgun's ids start with the UTC time: 20261205123456. */
const stamp = () => new Date().toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
