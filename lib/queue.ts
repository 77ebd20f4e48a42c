// The job queue: publishes Parley's jobs to QStash with the real @upstash/qstash Client (Upstash
// in production, the in-process local QStash server locally), cancels them, and keeps cron
// schedules in sync. A job is delivered to PUBLIC_BASE_URL + /jobs/<name> as a JSON envelope
// `{ key, payload }`: the key names the logical job, so the receiving end (lib/jobs.ts) can make
// a redelivery, and a re-publish of the same job, a no-op. The key is inside the signed body.
import { Client, QstashError } from "@upstash/qstash";
import { DependencyError } from "./errors";
import { sha256Hex } from "./ids";

export const JOB_NAMES = ["summaries", "exports", "reminders", "webhooks", "automations", "deliveries", "events", "usage"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** What a job endpoint receives (and what the signature covers). */
export interface JobEnvelope<P = unknown> {
  /** The logical job: a redelivery or re-publish with the same key has no second effect. */
  key: string;
  payload: P;
  /** Set by schedules: every firing is a new logical job, keyed by key + the message id. */
  repeat?: true;
}

export interface PublishOptions {
  /** Seconds to wait before the first delivery. */
  delay?: number;
  /** Do not deliver before this time (wins over `delay`). */
  notBefore?: Date;
  /**
   * Names the logical job. Defaults to a hash of the job and payload, so publishing the same
   * payload twice is one job; pass an id (`summary:sum_…`) when that is not what you mean.
   */
  deduplicationId?: string;
  /** Delivery retries after the first attempt (QStash's default is the plan's maximum). */
  retries?: number;
}

export interface Published {
  messageId: string;
  /** The envelope key the job will be recorded under. */
  key: string;
  /** QStash already had a message with this deduplication id: nothing new was enqueued. */
  deduplicated: boolean;
}

export interface ScheduleDef {
  /** Stable id (QStash upserts by it): `parley-<what>`. */
  id: string;
  job: JobName;
  /** Five-field cron, UTC (QStash also accepts a `CRON_TZ=<zone> ` prefix). */
  cron: string;
  payload: unknown;
  retries?: number;
}

export interface SyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

export interface Queue {
  /** The URL QStash calls for `job`. */
  jobUrl(job: JobName): string;
  publish(job: JobName, payload: unknown, opts?: PublishOptions): Promise<Published>;
  /** One request for many jobs (QStash's /v2/batch), in order. */
  publishBatch(items: ReadonlyArray<{ job: JobName; payload: unknown } & PublishOptions>): Promise<Published[]>;
  /** Cancels a pending message; false when QStash no longer has it (delivered or unknown). */
  cancel(messageId: string): Promise<boolean>;
  /** Makes QStash's `parley-*` schedules exactly `defs`: creates, updates, deletes. Idempotent. */
  syncSchedules(defs: ReadonlyArray<ScheduleDef>): Promise<SyncResult>;
}

export interface QueueConfig {
  /** QStash's API origin (QSTASH_URL): https://qstash.upstash.io, or the local server's URL. */
  baseUrl: string;
  token: string;
  /** Public origin of this API, read at call time (the local server learns it after listen). */
  publicBaseUrl: () => string | undefined;
}

export const SCHEDULE_PREFIX = "parley-";
const BATCH_SIZE = 100;
const KEY_RE = /^[\x21-\x7e]{1,200}$/;

/** JSON with sorted object keys, so equal payloads hash equally. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export async function jobKey(job: JobName, payload: unknown, deduplicationId?: string): Promise<string> {
  if (deduplicationId !== undefined) {
    if (!KEY_RE.test(deduplicationId)) throw new Error("deduplicationId must be 1 to 200 visible ASCII characters");
    return deduplicationId;
  }
  return `sha256:${await sha256Hex(`${job}\n${stableJson(payload)}`)}`;
}

function failed(err: unknown, what: string): never {
  // QStash answering 4xx is our bug (a bad request): surface it as is. Anything else (network,
  // 5xx, rate limit) means the queue is unavailable right now: the caller answers 503.
  if (err instanceof QstashError && err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
  throw new DependencyError(`qstash ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export function qstashQueue(cfg: QueueConfig): Queue {
  let client: Client | undefined;
  const qstash = () => {
    if (!cfg.token) throw new Error("QSTASH_TOKEN is not set: the queue cannot publish.");
    // devMode: false pins the configured URL and token even if QSTASH_DEV is set somewhere.
    client ??= new Client({ baseUrl: cfg.baseUrl, token: cfg.token, devMode: false });
    return client;
  };
  const jobUrl = (job: JobName) => {
    const base = cfg.publicBaseUrl();
    if (!base) throw new Error("PUBLIC_BASE_URL is not set: QStash would not know where to deliver jobs.");
    return `${base.replace(/\/+$/, "")}/jobs/${job}`;
  };
  const message = async (job: JobName, payload: unknown, opts: PublishOptions) => {
    const key = await jobKey(job, payload, opts.deduplicationId);
    const envelope: JobEnvelope = { key, payload };
    return {
      key,
      request: {
        url: jobUrl(job),
        body: JSON.stringify(envelope),
        headers: { "Content-Type": "application/json" },
        // QStash's own deduplication stops a re-publish before it is even enqueued; the job's
        // job_runs record is what makes it exactly-once beyond QStash's deduplication window.
        deduplicationId: `parley.${job}.${(await sha256Hex(key)).slice(0, 48)}`,
        ...(opts.notBefore ? { notBefore: Math.floor(opts.notBefore.getTime() / 1000) } : opts.delay ? { delay: Math.max(0, Math.round(opts.delay)) } : {}),
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
      },
    };
  };

  return {
    jobUrl,
    async publish(job, payload, opts = {}) {
      const { key, request } = await message(job, payload, opts);
      const res = await qstash()
        .publish(request)
        .catch((e) => failed(e, "publish"));
      return { messageId: res.messageId, key, deduplicated: Boolean(res.deduplicated) };
    },
    async publishBatch(items) {
      const out: Published[] = [];
      for (let i = 0; i < items.length; i += BATCH_SIZE) {
        const chunk = await Promise.all(items.slice(i, i + BATCH_SIZE).map((it) => message(it.job, it.payload, it)));
        const res = await qstash()
          .batch(chunk.map((c) => c.request))
          .catch((e) => failed(e, "batch"));
        res.forEach((r, j) => {
          const one = r as { messageId: string; deduplicated?: boolean };
          out.push({ messageId: one.messageId, key: chunk[j]!.key, deduplicated: Boolean(one.deduplicated) });
        });
      }
      return out;
    },
    async cancel(messageId) {
      try {
        const res = await qstash().messages.cancel(messageId);
        return (res?.cancelled ?? 0) > 0;
      } catch (e) {
        if (e instanceof QstashError && e.status === 404) return false;
        return failed(e, "cancel");
      }
    },
    async syncSchedules(defs) {
      const result: SyncResult = { created: [], updated: [], unchanged: [], deleted: [] };
      const existing = await qstash()
        .schedules.list()
        .catch((e) => failed(e, "list schedules"));
      const byId = new Map(existing.map((s) => [s.scheduleId, s]));
      for (const def of defs) {
        if (!def.id.startsWith(SCHEDULE_PREFIX)) throw new Error(`schedule id ${def.id} must start with ${SCHEDULE_PREFIX}`);
        const envelope: JobEnvelope = { key: `schedule:${def.id}`, payload: def.payload, repeat: true };
        const body = JSON.stringify(envelope);
        const destination = jobUrl(def.job);
        const have = byId.get(def.id);
        if (have && have.cron === def.cron && have.destination === destination && have.body === body && (def.retries === undefined || have.retries === def.retries)) {
          result.unchanged.push(def.id);
          continue;
        }
        await qstash()
          .schedules.create({
            scheduleId: def.id,
            destination,
            cron: def.cron,
            body,
            headers: { "Content-Type": "application/json" },
            ...(def.retries !== undefined ? { retries: def.retries } : {}),
          })
          .catch((e) => failed(e, "create schedule"));
        (have ? result.updated : result.created).push(def.id);
      }
      const wanted = new Set(defs.map((d) => d.id));
      for (const s of existing) {
        if (s.scheduleId.startsWith(SCHEDULE_PREFIX) && !wanted.has(s.scheduleId)) {
          await qstash()
            .schedules.delete(s.scheduleId)
            .catch((e) => failed(e, "delete schedule"));
          result.deleted.push(s.scheduleId);
        }
      }
      return result;
    },
  };
}
