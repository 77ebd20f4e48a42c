// What a handler may use, behind interfaces. A middleware puts one `Services` on every
// request (`c.var.services`); which implementation each member has is decided by the
// environment: Workers (Neon, Upstash, QStash, OpenAI, R2, Mailgun), or whatever the local
// server and the tests inject through the `PARLEY_SERVICES` binding.
import type { Database } from "./db";
import type { Kv } from "./kv";
import type { Llm } from "./llm";
import type { MailgunConfig } from "./mailgun";
import type { Queue } from "./queue";
import type { Storage } from "./storage";
import type { WhatsAppConfig } from "./whatsapp";

export interface Config {
  environment: "production" | "development" | "test";
  jwtSecret: string;
  /** Public origin of the API (what QStash and signed URLs point back to), no trailing slash. */
  publicBaseUrl?: string;
  rateLimitPerMinute: number;
  /** Failed authentications a client address may make a minute before 429 (lib/auth.ts). */
  authFailuresPerMinute: number;
  /** QStash signing keys the job endpoints verify `Upstash-Signature` with (current, next). */
  qstashSigningKeys?: { current: string; next: string };
  /** HMAC key of signed download URLs (FILES_SIGNING_KEY; generated into DATA_DIR locally). */
  filesSigningKey?: string;
  /** Webhook targets may be private/loopback addresses (WEBHOOKS_ALLOW_PRIVATE_TARGETS=true). */
  webhooksAllowPrivateTargets: boolean;
  /** WhatsApp Cloud API: Graph's origin, the platform app's secret and verify token. */
  whatsapp: WhatsAppConfig;
  /**
   * Parley's own Mailgun account's HTTP webhook signing key (MAILGUN_WEBHOOK_SIGNING_KEY): verifies
   * route forwards and event webhooks for email channels without their own `webhook_signing_key`.
   */
  mailgunWebhookSigningKey?: string;
  /** Parley's own Mailgun account for outbound email (MAILGUN_BASE_URL, MAILGUN_API_KEY, MAILGUN_DOMAIN). */
  mailgun: MailgunConfig;
}

/** Later areas add their own members (queue, llm, storage, mailer) to this interface. */
export interface Services {
  readonly db: Database;
  readonly kv: Kv;
  readonly config: Config;
  /** Publishes jobs to /jobs/* through QStash (lib/queue.ts). */
  readonly queue: Queue;
  /** The language model (lib/llm.ts): OpenAI-compatible, or parley-offline. Workers build it only in functions that pass it to createWorker. */
  readonly llm: Llm;
  /** File bytes (lib/storage.ts): R2 on Workers, DATA_DIR locally, memory in tests. */
  readonly storage: Storage;
  /** Runs `p` after the response where the runtime allows it (Workers' waitUntil). */
  waitUntil(p: Promise<unknown>): void;
  /** Keeps the request's resources (its database pool) open until `p` settles: for streams. */
  holdOpen(p: Promise<unknown>): void;
}

export interface ServiceRequestContext {
  env: import("./env").Env;
  waitUntil(p: Promise<unknown>): void;
  /** Registers clean-up to run once the response (and anything held open) is done. */
  defer(fn: () => Promise<unknown>): void;
}

export type ServiceProvider = (ctx: ServiceRequestContext) => Services;

/** Defines a getter that builds its value on first use, once. */
export function lazy<T extends object, K extends string, V>(target: T, key: K, build: () => V): T & Record<K, V> {
  let value: V | undefined;
  let built = false;
  Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      if (!built) {
        value = build();
        built = true;
      }
      return value;
    },
  });
  return target as T & Record<K, V>;
}
