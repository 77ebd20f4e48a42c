// WhatsApp Cloud API: the outbound client (Graph's `POST /{version}/{phone_number_id}/messages`
// with the channel's access token, and what its answers and errors mean for Parley), and the
// webhook signature Meta puts on what it posts to /inbound/whatsapp (X-Hub-Signature-256).
// Web Crypto and fetch only, so it runs on Workers and in Node alike.

/** The Graph API version Parley speaks. */
export const GRAPH_VERSION = "v21.0";
export const DEFAULT_GRAPH_URL = "https://graph.facebook.com";
/** A send not answered within this counts as a transient failure (the job is retried). */
const SEND_TIMEOUT_MS = 15_000;

export interface WhatsAppConfig {
  /** Graph's origin (WHATSAPP_GRAPH_URL): https://graph.facebook.com, or the local stand-in. */
  graphUrl: string;
  /** The platform Meta app's secret (WHATSAPP_APP_SECRET): signs webhooks of channels without their own. */
  appSecret?: string;
  /** The platform app's webhook verify token (WHATSAPP_VERIFY_TOKEN). */
  verifyToken?: string;
}

export interface TemplateInput {
  name: string;
  /** A language code such as `en_US`. */
  language: string;
  /** Body parameters, in order ({{1}}, {{2}}, …). */
  parameters?: string[];
}

export type MediaKind = "image" | "document" | "audio" | "video" | "sticker";

/** What Parley sends: free text, an approved template, or media by URL or uploaded media id. */
export type OutboundWhatsApp =
  | { type: "text"; text: string; previewUrl?: boolean }
  | { type: "template"; template: TemplateInput }
  | { type: "media"; kind: MediaKind; link?: string; id?: string; caption?: string; filename?: string };

/** The JSON body Graph expects for `message` to `to` (a wa_id: digits, no +). */
export function graphBody(to: string, message: OutboundWhatsApp): Record<string, unknown> {
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to };
  switch (message.type) {
    case "text":
      return { ...base, type: "text", text: { body: message.text, preview_url: message.previewUrl ?? false } };
    case "template": {
      const params = message.template.parameters ?? [];
      return {
        ...base,
        type: "template",
        template: {
          name: message.template.name,
          language: { code: message.template.language },
          ...(params.length ? { components: [{ type: "body", parameters: params.map((text) => ({ type: "text", text })) }] } : {}),
        },
      };
    }
    case "media": {
      const media: Record<string, unknown> = message.id ? { id: message.id } : { link: message.link };
      // Graph refuses a caption on audio and stickers, and a filename on anything but documents.
      if (message.caption && message.kind !== "audio" && message.kind !== "sticker") media.caption = message.caption;
      if (message.filename && message.kind === "document") media.filename = message.filename;
      return { ...base, type: message.kind, [message.kind]: media };
    }
  }
}

/** Graph's error object, as it answers it. */
export interface GraphError {
  message: string;
  type?: string;
  code: number;
  error_subcode?: number;
  fbtrace_id?: string;
  error_data?: { details?: string };
}

/**
 * What a send came to:
 * - `sent`: Graph accepted it; `wamid` identifies it in later status webhooks.
 * - `rejected`: Graph refused this message for good (outside the 24 h window, undeliverable,
 *   bad template, …): the message fails with `delivery_error`.
 * - `unauthorized`: the channel's access token is expired or invalid (190): the message fails
 *   and the channel goes to `status: "error"` until an admin gives it a new token.
 * - `retry`: Graph is down, rate limiting or unreachable: try again later (the job answers 5xx).
 */
export type SendOutcome =
  | { kind: "sent"; wamid: string; waId?: string }
  | { kind: "rejected"; code: string; message: string; graph: GraphError }
  | { kind: "unauthorized"; code: string; message: string; graph: GraphError }
  | { kind: "retry"; reason: string; status?: number };

/** Graph error codes that mean "later", not "never": throttling and Graph's own trouble. */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056, 133004]);

/** Parley's `delivery_error.code` for a Graph error code. */
export function deliveryErrorCode(code: number): string {
  if (code === 131047) return "outside_messaging_window";
  if (code === 131026) return "undeliverable";
  if (code === 190) return "channel_unauthorized";
  if (code === 132000 || code === 132001 || code === 132005 || code === 132007 || code === 132012) return "template_rejected";
  return "provider_rejected";
}

const DESCRIPTIONS: Record<number, string> = {
  131047: "More than 24 hours have passed since the customer last wrote: only a template message can reach them now.",
  131026: "WhatsApp could not deliver the message (the number is not on WhatsApp, or cannot receive it).",
  190: "The channel's WhatsApp access token is expired or invalid: give the channel a new access_token.",
};

/** Reads one Graph answer into a SendOutcome. */
export function interpretGraphAnswer(status: number, body: unknown): SendOutcome {
  const b = body as { messages?: Array<{ id?: unknown }>; contacts?: Array<{ wa_id?: unknown }>; error?: Partial<GraphError> } | null;
  if (status >= 200 && status < 300) {
    const wamid = b?.messages?.[0]?.id;
    if (typeof wamid === "string" && wamid) {
      const waId = b?.contacts?.[0]?.wa_id;
      return { kind: "sent", wamid, ...(typeof waId === "string" ? { waId } : {}) };
    }
    // A 2xx without a message id is not an answer we can trust to have sent anything.
    return { kind: "retry", reason: "Graph answered without a message id", status };
  }
  const e = b?.error;
  if (status === 429 || status >= 500 || !e || typeof e.code !== "number") {
    return { kind: "retry", reason: `Graph answered HTTP ${status}${e?.message ? `: ${String(e.message).slice(0, 200)}` : ""}`, status };
  }
  const graph: GraphError = {
    message: typeof e.message === "string" ? e.message : "",
    code: e.code,
    ...(typeof e.type === "string" ? { type: e.type } : {}),
    ...(typeof e.error_subcode === "number" ? { error_subcode: e.error_subcode } : {}),
    ...(typeof e.fbtrace_id === "string" ? { fbtrace_id: e.fbtrace_id } : {}),
    ...(e.error_data && typeof e.error_data === "object" ? { error_data: e.error_data } : {}),
  };
  if (TRANSIENT_CODES.has(graph.code)) return { kind: "retry", reason: `Graph error ${graph.code}: ${graph.message.slice(0, 200)}`, status };
  const message = `${DESCRIPTIONS[graph.code] ?? graph.error_data?.details ?? graph.message ?? "WhatsApp refused the message."} (Graph error ${graph.code}${graph.error_subcode ? `/${graph.error_subcode}` : ""})`;
  if (graph.code === 190) return { kind: "unauthorized", code: deliveryErrorCode(190), message, graph };
  return { kind: "rejected", code: deliveryErrorCode(graph.code), message, graph };
}

export interface SendArgs {
  graphUrl: string;
  phoneNumberId: string;
  accessToken: string;
  to: string;
  message: OutboundWhatsApp;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Sends one message through Graph. Never throws: a network failure is a `retry` outcome. */
export async function sendWhatsApp(args: SendArgs): Promise<SendOutcome> {
  const url = `${args.graphUrl.replace(/\/+$/, "")}/${GRAPH_VERSION}/${encodeURIComponent(args.phoneNumberId)}/messages`;
  const doFetch = args.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${args.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify(graphBody(args.to, args.message)),
      signal: AbortSignal.timeout(args.timeoutMs ?? SEND_TIMEOUT_MS),
    });
  } catch (err) {
    return { kind: "retry", reason: `Graph unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const text = await res.text().catch(() => "");
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page): judged by the status alone
  }
  return interpretGraphAnswer(res.status, body);
}

/** The wa_id Graph addresses: the phone's digits, without + or punctuation. */
export const waIdOf = (phone: string) => phone.replace(/[^0-9]/g, "");

// ---- webhook signatures ----

const encoder = new TextEncoder();

async function hmacKey(secret: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** `sha256=<hex>`: what Meta sends in X-Hub-Signature-256 for `body` signed with `secret`. */
export async function signWebhook(body: string | Uint8Array<ArrayBuffer>, secret: string): Promise<string> {
  const data = typeof body === "string" ? encoder.encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), data));
  let hex = "";
  for (const b of mac) hex += b.toString(16).padStart(2, "0");
  return `sha256=${hex}`;
}

/** The 32 bytes of a well-formed `sha256=<64 hex>` header, else null. */
export function parseSignature(header: string | undefined | null): Uint8Array<ArrayBuffer> | null {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header?.trim() ?? "");
  if (!m) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(m[1]!.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * True when `signature` (parsed by parseSignature) is the HMAC-SHA256 of the raw `body` under
 * `secret`. Web Crypto's verify compares in constant time.
 */
export async function verifyWebhook(body: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer>, secret: string): Promise<boolean> {
  if (!secret) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), signature, body);
}
