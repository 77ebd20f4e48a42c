// Helpers for job tests: signed deliveries made exactly as QStash makes them, and job_runs reads.
import { and, eq } from "drizzle-orm";
import type { Database } from "../../lib/db";
import { signQStashJwt } from "../../lib/local/qstash";
import type { JobName } from "../../lib/queue";
import { jobRuns } from "../../schema/jobs";

let seq = 0;

export interface Delivery {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** A delivery of `envelope` to /jobs/<job>, signed with `key` (override any part to break it). */
export function delivery(
  base: string,
  job: JobName,
  envelope: unknown,
  key: string,
  o: { retried?: number; messageId?: string; signUrl?: string; signBody?: string; now?: number; ttl?: number } = {},
): Delivery {
  const url = `${base}/jobs/${job}`;
  const body = typeof envelope === "string" ? envelope : JSON.stringify(envelope);
  return {
    url,
    body,
    headers: {
      "content-type": "application/json",
      "upstash-signature": signQStashJwt(key, o.signUrl ?? url, o.signBody ?? body, { now: o.now, ttl: o.ttl }),
      "upstash-message-id": o.messageId ?? `msg_test${++seq}${Math.random().toString(36).slice(2, 10)}`,
      "upstash-retried": String(o.retried ?? 0),
    },
  };
}

export const toRequest = (d: Delivery) => new Request(d.url, { method: "POST", headers: d.headers, body: d.body });

export async function runsOf(db: Database, job: JobName, key: string) {
  return db
    .select()
    .from(jobRuns)
    .where(and(eq(jobRuns.job, job), eq(jobRuns.dedupKey, key)));
}

/** Polls until `check` passes (deliveries are asynchronous); fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const uid = (label: string) => `${label}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
