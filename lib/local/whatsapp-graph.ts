// A local stand-in for Meta's Graph API (WhatsApp Cloud API), for the embedded default and the
// tests (Graph cannot be reached from here). It speaks Graph's protocol on loopback:
// `POST /{version}/{phone_number_id}/messages` with `Authorization: Bearer <token>`, answering
// `{messaging_product, contacts: [{input, wa_id}], messages: [{id: "wamid.…"}]}` or Graph's
// `{error: {message, type, code, error_subcode?, fbtrace_id}}`. It records every send, can be
// told to fail (a revoked token → 190, a scripted error such as 131047 or 131026, a 5xx), and
// posts status webhooks back to /inbound/whatsapp signed as Meta signs them (X-Hub-Signature-256).
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { signWebhook } from "../whatsapp";

export type Deliver = (req: Request) => Promise<Response>;
export type StatusName = "sent" | "delivered" | "read" | "failed";

export interface GraphSend {
  phoneNumberId: string;
  version: string;
  token: string;
  /** The JSON body as received. */
  body: Record<string, any>;
  wamid: string;
  at: Date;
}

export interface ScriptedError {
  /** HTTP status (Graph answers 400 for most errors, 401 for token errors, 5xx when down); 200: accept this send. */
  status: number;
  code?: number;
  subcode?: number;
  message?: string;
  type?: string;
}

export interface LocalGraphOptions {
  host?: string;
  port?: number;
  /** Signs the webhooks of `phoneNumberId`: the channel's own app secret, else the platform's. */
  secretFor: (phoneNumberId: string) => Promise<string | undefined> | string | undefined;
  /** Where status webhooks go (…/inbound/whatsapp), read when one is sent. */
  webhookUrl: () => string;
  /** How a webhook reaches that URL: fetch by default; the harness hands in its dispatch. */
  deliver?: Deliver;
  /** Statuses posted back after each accepted send (the local server: sent, delivered); none in tests. */
  autoStatuses?: StatusName[];
  /** Milliseconds between a send and each automatic status. */
  autoStatusDelayMs?: number;
  /**
   * How a media `link` is fetched (fetch by default). With automatic statuses on, the stand-in
   * downloads each link as Graph does, and a link that does not answer 2xx turns the statuses into
   * Graph's `failed` with 131053 (Media upload error).
   */
  fetchMedia?: (url: string) => Promise<Response>;
}

const ERRORS: Record<number, { message: string; type: string; status: number }> = {
  190: { message: "Error validating access token: Session has expired.", type: "OAuthException", status: 401 },
  131047: { message: "Re-engagement message", type: "OAuthException", status: 400 },
  131026: { message: "Message Undeliverable.", type: "OAuthException", status: 400 },
  100: { message: "(#100) Invalid parameter", type: "OAuthException", status: 400 },
  130429: { message: "(#130429) Rate limit hit", type: "OAuthException", status: 400 },
};

const MESSAGE_TYPES = new Set(["text", "template", "image", "document", "audio", "video", "sticker", "location", "interactive", "reaction", "contacts"]);

/** The keys Graph takes in each media object (Meta's image/video/audio/document/sticker message docs). */
const MEDIA_KEYS: Record<string, ReadonlySet<string>> = {
  image: new Set(["id", "link", "caption"]),
  video: new Set(["id", "link", "caption"]),
  audio: new Set(["id", "link", "voice"]),
  document: new Set(["id", "link", "caption", "filename"]),
  sticker: new Set(["id", "link"]),
};

/** Graph's (#100) answer for a media object it would refuse, else null. */
function mediaProblem(type: string, media: Record<string, unknown>): string | null {
  const allowed = MEDIA_KEYS[type]!;
  for (const key of Object.keys(media)) if (!allowed.has(key)) return `(#100) Unexpected key "${key}" on param "${type}".`;
  const hasId = media.id !== undefined;
  const hasLink = media.link !== undefined;
  if (hasId === hasLink) return `(#100) Param ${type} must have exactly one of id or link.`;
  if (hasLink && (typeof media.link !== "string" || !/^https?:\/\/[^\s]+$/i.test(media.link))) return `(#100) Param ${type}['link'] must be a valid URL`;
  if (hasId && (typeof media.id !== "string" || !media.id)) return `(#100) Param ${type}['id'] must be a valid media id`;
  if (media.caption !== undefined && (typeof media.caption !== "string" || media.caption.length > 1024)) return `(#100) Param ${type}['caption'] must be at most 1024 characters long.`;
  if (media.filename !== undefined && (typeof media.filename !== "string" || !media.filename)) return `(#100) Param ${type}['filename'] must be a non-empty string.`;
  return null;
}

/** A wamid shaped like Meta's: "wamid." and base64 of an opaque id. */
export const newWamid = () => `wamid.${randomBytes(30).toString("base64")}`;
const traceId = () => randomBytes(9).toString("base64").replace(/[+/=]/g, "A");

export function graphError(code: number, opts: { message?: string; subcode?: number; type?: string; details?: string } = {}) {
  const known = ERRORS[code];
  return {
    error: {
      message: opts.message ?? known?.message ?? `(#${code}) Error`,
      type: opts.type ?? known?.type ?? "OAuthException",
      code,
      ...(opts.subcode !== undefined ? { error_subcode: opts.subcode } : {}),
      ...(opts.details ? { error_data: { messaging_product: "whatsapp", details: opts.details } } : {}),
      fbtrace_id: traceId(),
    },
  };
}

// ---- webhook payloads, as Meta posts them ----

export interface PhoneMeta {
  phoneNumberId: string;
  displayPhoneNumber?: string;
  /** The WhatsApp Business Account id (entry[].id). */
  wabaId?: string;
}

function envelope(phone: PhoneMeta, value: Record<string, unknown>) {
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: phone.wabaId ?? "102290129340398",
        changes: [
          {
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: phone.displayPhoneNumber ?? "15550783881", phone_number_id: phone.phoneNumberId },
              ...value,
            },
            field: "messages",
          },
        ],
      },
    ],
  };
}

/** An inbound message webhook: `message` is the messages[] item without from/id/timestamp. */
export function inboundPayload(
  phone: PhoneMeta,
  from: { waId: string; name?: string },
  message: Record<string, unknown> & { type: string },
  opts: { wamid?: string; timestamp?: Date } = {},
) {
  const ts = Math.floor((opts.timestamp ?? new Date()).getTime() / 1000);
  return envelope(phone, {
    contacts: [{ profile: { name: from.name ?? from.waId }, wa_id: from.waId }],
    messages: [{ from: from.waId, id: opts.wamid ?? newWamid(), timestamp: String(ts), ...message }],
  });
}

/** A status webhook for an outbound message (`failed` carries Meta's errors[]). */
export function statusPayload(
  phone: PhoneMeta,
  wamid: string,
  status: StatusName,
  recipient: string,
  opts: { timestamp?: Date; error?: { code: number; title: string; details?: string } } = {},
) {
  const ts = String(Math.floor((opts.timestamp ?? new Date()).getTime() / 1000));
  const item: Record<string, unknown> = { id: wamid, status, timestamp: ts, recipient_id: recipient };
  if (status === "sent") {
    item.conversation = { id: randomBytes(16).toString("hex"), expiration_timestamp: String(Number(ts) + 86_400), origin: { type: "service" } };
  }
  if (status !== "failed" && status !== "read") item.pricing = { billable: true, pricing_model: "PMP", category: "service", type: "free_customer_service" };
  if (status === "failed") {
    const e = opts.error ?? { code: 131026, title: "Message undeliverable" };
    item.errors = [
      {
        code: e.code,
        title: e.title,
        message: e.title,
        error_data: { details: e.details ?? e.title },
        href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
      },
    ];
  }
  return envelope(phone, { statuses: [item] });
}

/** A signed POST of `payload` to `url`, as Meta sends webhooks. */
export async function signedWebhookRequest(url: string, payload: unknown, secret: string): Promise<Request> {
  const body = JSON.stringify(payload);
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": await signWebhook(body, secret), "user-agent": "facebookexternalua" },
    body,
  });
}

// ---- the server ----

export class LocalGraph {
  readonly sends: GraphSend[] = [];
  private readonly revoked = new Set<string>();
  private readonly scripted: ScriptedError[] = [];
  private deliver: Deliver;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly opts: LocalGraphOptions,
  ) {
    this.deliver = opts.deliver ?? ((req) => fetch(req));
  }

  static async start(opts: LocalGraphOptions): Promise<LocalGraph> {
    let self: LocalGraph | undefined;
    const server = createServer(getRequestListener((req) => self!.handle(req)));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new LocalGraph(server, `http://127.0.0.1:${port}`, opts);
    return self;
  }

  /** Routes webhooks through `deliver` (the harness: its in-process dispatch). */
  deliverVia(deliver: Deliver) {
    this.deliver = deliver;
  }

  /** From now on `token` is refused as expired (Graph error 190, subcode 463). */
  expireToken(token: string) {
    this.revoked.add(token);
  }

  /** The next send(s) are answered with these errors, in order, instead of being accepted (`{status: 200}`: accepted as usual). */
  failNext(...errors: ScriptedError[]) {
    this.scripted.push(...errors);
  }

  /** Sends recorded for one phone number. */
  sentFrom(phoneNumberId: string) {
    return this.sends.filter((s) => s.phoneNumberId === phoneNumberId);
  }

  /** Posts a signed status webhook for a message this stand-in accepted; resolves to the answer. */
  async emitStatus(wamid: string, status: StatusName, opts: { error?: { code: number; title: string; details?: string }; timestamp?: Date } = {}): Promise<Response> {
    const send = this.sends.find((s) => s.wamid === wamid);
    if (!send) throw new Error(`LocalGraph: no send with id ${wamid}`);
    const payload = statusPayload({ phoneNumberId: send.phoneNumberId }, wamid, status, String(send.body.to), opts);
    return this.post(send.phoneNumberId, payload);
  }

  /** Posts any payload as a signed webhook for `phoneNumberId`'s channel. */
  async post(phoneNumberId: string, payload: unknown): Promise<Response> {
    const secret = await this.opts.secretFor(phoneNumberId);
    if (!secret) throw new Error("LocalGraph: no app secret to sign webhooks with");
    return this.deliver(await signedWebhookRequest(this.opts.webhookUrl(), payload, secret));
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/(v\d+\.\d+)\/([^/]+)\/messages\/?$/.exec(url.pathname);
    if (req.method !== "POST" || !m) {
      return json(400, graphError(100, { message: "Unsupported request - method type: " + req.method.toLowerCase(), type: "GraphMethodException" }));
    }
    const [, version, phoneNumberId] = m as unknown as [string, string, string];
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.get("authorization") ?? "");
    if (!auth) return json(400, graphError(2500, { message: "An active access token must be used to query information about the current user." }));
    const token = auth[1]!;
    if (this.revoked.has(token)) {
      return json(401, graphError(190, { subcode: 463, message: "Error validating access token: Session has expired on Friday, 04-Dec-26 23:00:00 PST." }));
    }
    let body: Record<string, any>;
    try {
      body = (await req.json()) as Record<string, any>;
    } catch {
      return json(400, graphError(100, { message: "(#100) The parameter messaging_product is required." }));
    }
    if (body?.messaging_product !== "whatsapp") return json(400, graphError(100, { message: "(#100) The parameter messaging_product is required." }));
    if (typeof body.to !== "string" || !/^\+?[0-9]{5,20}$/.test(body.to)) return json(400, graphError(100, { message: "(#100) Invalid parameter", details: "to" }));
    const type = body.type ?? "text";
    if (!MESSAGE_TYPES.has(type) || typeof body[type] !== "object") return json(400, graphError(100, { message: `(#100) Param ${type} is required` }));
    if (type === "text" && (typeof body.text.body !== "string" || !body.text.body)) return json(400, graphError(100, { message: "(#100) Param text['body'] is required" }));
    if (type === "text" && body.text.body.length > 4096) return json(400, graphError(100, { message: "(#100) Param text['body'] must be at most 4096 characters long." }));
    if (MEDIA_KEYS[type]) {
      const problem = mediaProblem(type, body[type]);
      if (problem) return json(400, graphError(100, { message: problem }));
    }

    const scripted = this.scripted.shift();
    if (scripted) {
      if (scripted.status === 200) return this.accept(phoneNumberId, version, token, body, type);
      if (scripted.status >= 500) return json(scripted.status, graphError(scripted.code ?? 2, { message: scripted.message ?? "An unexpected error has occurred. Please retry your request later.", type: "OAuthException" }));
      return json(scripted.status, graphError(scripted.code ?? 100, { subcode: scripted.subcode, message: scripted.message, type: scripted.type }));
    }

    return this.accept(phoneNumberId, version, token, body, type);
  }

  private accept(phoneNumberId: string, version: string, token: string, body: Record<string, any>, type: string): Response {
    const wamid = newWamid();
    const to = body.to.replace(/^\+/, "");
    this.sends.push({ phoneNumberId, version, token, body, wamid, at: new Date() });
    const link = MEDIA_KEYS[type] ? (body[type] as { link?: unknown }).link : undefined;
    this.scheduleStatuses(wamid, typeof link === "string" ? link : undefined);
    return json(200, { messaging_product: "whatsapp", contacts: [{ input: body.to, wa_id: to }], messages: [{ id: wamid, ...(type === "template" ? { message_status: "accepted" } : {}) }] });
  }

  private scheduleStatuses(wamid: string, link?: string) {
    const statuses = this.opts.autoStatuses ?? [];
    if (!statuses.length) return;
    const delay = this.opts.autoStatusDelayMs ?? 500;
    // Graph downloads a linked media file after accepting the send; a link it cannot fetch ends in
    // a `failed` status (131053) instead of sent/delivered.
    const fetched = link ? this.mediaReachable(link) : Promise.resolve(true);
    statuses.forEach((status, i) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        const p = fetched
          .then((ok) => {
            if (ok) return this.emitStatus(wamid, status);
            if (i > 0) return undefined;
            return this.emitStatus(wamid, "failed", { error: { code: 131053, title: "Media upload error", details: `Downloading media from the link failed: ${link}` } });
          })
          .then((r) => r?.body?.cancel())
          .catch((err) => console.warn(JSON.stringify({ msg: "local graph: status webhook failed", status, error: String(err) })))
          .finally(() => this.inflight.delete(p));
        this.inflight.add(p);
      }, delay * (i + 1));
      this.timers.add(t);
    });
  }

  private async mediaReachable(link: string): Promise<boolean> {
    try {
      const res = await (this.opts.fetchMedia ?? ((u: string) => fetch(u)))(link);
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  async close() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inflight]);
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=UTF-8" } });
}
