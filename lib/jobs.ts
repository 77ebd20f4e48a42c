// The one shape of a QStash-invoked job endpoint, so each job is a payload schema and a
// handler. A delivery goes: raw body read once → Upstash-Signature verified with the SDK's
// Receiver against that body and this job's own URL (current key, then next) → envelope and
// payload parsed with zod → a job_runs row claimed under (job, key) and the handler run in the
// same transaction. A redelivery, a concurrent delivery or a re-publish finds the row and does
// nothing. A job with slow outside work (a model call) is two steps instead: the run is claimed
// `running` in a short transaction, `work` runs outside any transaction (no connection held while
// the provider thinks), and `commit` writes its outcome in a transaction that completes the run
// only while the claim is still this delivery's. A concurrent delivery of a running job is asked
// to come back later (503); a claim older than its lease (a crashed attempt) is taken over. Bad payloads and JobFailure are answered 489 + Upstash-NonRetryable-Error (QStash
// stops retrying); anything else is 5xx and QStash retries.
import { createRoute, z } from "@hono/zod-openapi";
import { Receiver } from "@upstash/qstash";
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { jobRuns, SYSTEM_WORKSPACE_ID } from "../schema/jobs";
import { createApp } from "./create-app";
import type { Tx } from "./db";
import type { AppEnv } from "./env";
import { ApiError, describeError, type ErrorCode, ErrorSchema, errorBody, errorResponses, fieldErrors } from "./errors";
import { newId } from "./ids";
import type { JobName } from "./queue";
import type { Services } from "./services";

/** QStash's "do not retry" answer: this status plus `Upstash-NonRetryable-Error: true`. */
export const NON_RETRYABLE_STATUS = 489;
/** Seconds of clock skew accepted on the signature's nbf/exp. */
const CLOCK_TOLERANCE = 5;
const MAX_ERROR_LENGTH = 2000;

/** Thrown by a handler when retrying cannot help (the thing it works on is gone, say). */
export class JobFailure extends Error {
  override name = "JobFailure";
  constructor(
    message: string,
    readonly code: ErrorCode = "conflict",
  ) {
    super(message);
  }
}

export interface JobMeta {
  job: JobName;
  /** The logical job's key (the job_runs dedup key). */
  key: string;
  runId: string;
  workspaceId: string;
  messageId: string;
  /** Upstash-Retried: 0 on the first attempt. */
  retried: number;
  scheduleId?: string;
  services: Services;
}

/** Does the job's work inside the run's transaction; what it returns is kept as the run's result. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers with nothing to report simply return.
export type JobHandler<P> = (tx: Tx, payload: P, meta: JobMeta) => Promise<Record<string, unknown> | undefined | void>;

/**
 * A job whose slow part must not hold a transaction: `work` runs after the claim, outside any
 * transaction; `commit` writes what it produced in the transaction that completes the run.
 */
export interface TwoStepJob<P, W> {
  work(payload: P, meta: JobMeta): Promise<W>;
  // biome-ignore lint/suspicious/noConfusingVoidType: commits with nothing to report simply return.
  commit(tx: Tx, payload: P, meta: JobMeta, worked: W): Promise<Record<string, unknown> | undefined | void>;
  /** How long a `running` claim is this attempt's before another delivery may take it over. */
  leaseMs: number;
}

export const JobAck = z
  .object({
    job: z.string(),
    key: z.string(),
    run_id: z.string(),
    status: z.enum(["completed", "failed", "retrying"]),
    duplicate: z.boolean().openapi({ description: "True when this logical job had already run: nothing was done again." }),
  })
  .openapi("JobAck", { example: { job: "summaries", key: "summary:sum_01jd3k9v6q8f2m4x7c5b0n1p2r", run_id: "job_01jd3k9v6q8f2m4x7c5b0n1p2r", status: "completed", duplicate: false } });

const SignatureHeaders = z.object({
  "upstash-signature": z.string().openapi({ description: "JWT (HS256) signed by QStash over this URL and the SHA-256 of the raw body.", example: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…" }),
  "upstash-message-id": z.string().optional().openapi({ example: "msg_26hZCxZCuWyyTWPmSVBrNC1RADwpgWxPcak2rQD51EMjFMuzcW7qYXpPiDyw8Gd" }),
  "upstash-retried": z.string().optional().openapi({ description: "Delivery retries so far (0 on the first attempt).", example: "0" }),
});

function envelopeOf<S extends z.ZodType>(payload: S) {
  return z.object({
    key: z.string().min(1).max(200).openapi({ description: "The logical job; its second delivery is a no-op.", example: "summary:sum_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    payload,
    repeat: z.literal(true).optional().openapi({ description: "Set by schedules: each firing is its own job (key + message id)." }),
  });
}

interface Claim {
  runId: string;
  status: "completed" | "failed" | "retrying";
  duplicate: boolean;
}

export function createJobApp<S extends z.ZodType, W = unknown>(
  name: JobName,
  payloadSchema: S,
  handler: JobHandler<z.output<S>> | TwoStepJob<z.output<S>, W>,
  doc: { summary: string; description: string },
) {
  const app = createApp();
  const Envelope = envelopeOf(payloadSchema);
  const path = `/jobs/${name}`;

  app.openAPIRegistry.registerPath(
    createRoute({
      method: "post",
      path,
      // runSummariesJob, runExportsJob, …: stable, one per job Worker.
      operationId: `run${name.replace(/(^|[-_])(\w)/g, (_, _sep: string, ch: string) => ch.toUpperCase())}Job`,
      tags: ["Jobs"],
      summary: doc.summary,
      description: `${doc.description}\n\nCalled by QStash only: every request must carry a valid \`Upstash-Signature\` (checked against the current, then the next signing key, this URL and the raw body), otherwise 401. A malformed payload is answered 489 with \`Upstash-NonRetryable-Error: true\` so QStash does not retry it; a transient failure is 5xx and QStash retries. Each logical job (its \`key\`) has its effect once, however often it is delivered.`,
      security: [],
      request: { headers: SignatureHeaders, body: { content: { "application/json": { schema: Envelope } }, required: true } },
      responses: {
        200: { description: "Done now, or already done before (`duplicate`).", content: { "application/json": { schema: JobAck } } },
        489: { description: "Permanent failure (bad payload, or the job cannot be done): recorded as failed; QStash does not retry.", content: { "application/json": { schema: ErrorSchema } } },
        ...errorResponses(401),
      },
    }),
  );

  app.post(path, async (c) => {
    const { services } = c.var;
    const { config } = services;
    const keys = config.qstashSigningKeys;
    if (!keys || !config.publicBaseUrl) {
      throw new ApiError("internal_error", "The job endpoint is misconfigured.", {
        cause: "QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY and PUBLIC_BASE_URL are required by /jobs/*",
      });
    }
    const signature = c.req.header("upstash-signature");
    if (!signature) throw new ApiError("unauthorized", "Missing Upstash-Signature header.");
    const raw = await c.req.text();
    // devMode: false pins our keys: with QSTASH_DEV set the SDK would otherwise accept its public dev keys.
    const receiver = new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next, devMode: false });
    const valid = await receiver
      .verify({ signature, body: raw, url: `${config.publicBaseUrl}${path}`, clockTolerance: CLOCK_TOLERANCE })
      .catch(() => false);
    if (!valid) throw new ApiError("unauthorized", "Invalid Upstash-Signature.");

    const messageId = c.req.header("upstash-message-id") ?? "unknown";
    const retried = Math.max(0, Number.parseInt(c.req.header("upstash-retried") ?? "0", 10) || 0);
    const scheduleId = c.req.header("upstash-schedule-id") || undefined;

    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return permanent(c, services, { job: name, key: `invalid:${messageId}`, messageId, retried }, "bad_request", "The job body is not JSON.");
    }
    const parsed = Envelope.safeParse(json);
    if (!parsed.success) {
      const rawKey = (json as { key?: unknown })?.key;
      const key = typeof rawKey === "string" && rawKey.length > 0 && rawKey.length <= 200 ? rawKey : `invalid:${messageId}`;
      return permanent(c, services, { job: name, key, messageId, retried, workspaceId: workspaceOf((json as { payload?: unknown })?.payload) }, "validation_error", "The job payload is invalid.", {
        fields: fieldErrors(parsed.error.issues),
      });
    }

    const envelope = parsed.data as { key: string; payload: z.output<S>; repeat?: true };
    const key = envelope.repeat ? `${envelope.key}@${messageId}` : envelope.key;
    const workspaceId = workspaceOf(envelope.payload);
    const attempts = retried + 1;
    let claim: Claim;
    try {
      if (typeof handler !== "function") {
        claim = await runTwoStep(services, name, key, envelope.payload, { job: name, key, runId: "", workspaceId, messageId, retried, scheduleId, services }, handler);
      } else {
        claim = await services.db.transaction(async (tx) => {
          const now = new Date();
          const [mine] = await tx
            .insert(jobRuns)
            .values({ id: newId("job"), workspaceId, job: name, dedupKey: key, messageId, status: "completed", attempts, finishedAt: now })
            .onConflictDoUpdate({
              target: [jobRuns.job, jobRuns.dedupKey],
              set: { status: "completed", attempts, messageId, error: null, updatedAt: now, finishedAt: now },
              // Only a run left "retrying" by a failed attempt may be taken over; a completed or
              // failed one (or one a concurrent delivery is running: we wait on its row) is done.
              setWhere: sql`${jobRuns.status} = 'retrying'`,
            })
            .returning({ id: jobRuns.id });
          if (!mine) {
            const [done] = await tx
              .select({ id: jobRuns.id, status: jobRuns.status })
              .from(jobRuns)
              .where(and(eq(jobRuns.job, name), eq(jobRuns.dedupKey, key)));
            return { runId: done?.id ?? "", status: done?.status === "failed" || done?.status === "retrying" ? done.status : "completed", duplicate: true };
          }
          const result = await handler(tx, envelope.payload, { job: name, key, runId: mine.id, workspaceId, messageId, retried, scheduleId, services });
          // The claim already reads "completed": it commits with the effect or not at all. Only a
          // result to keep costs a second statement.
          if (result && Object.keys(result).length) {
            await tx
              .update(jobRuns)
              .set({ result, finishedAt: new Date(), updatedAt: new Date() })
              .where(eq(jobRuns.id, mine.id));
          }
          return { runId: mine.id, status: "completed", duplicate: false };
        });
      }
    } catch (err) {
      if (err instanceof JobBusy) {
        // Not a failure of this run: the claim stays with the delivery that holds it.
        throw new ApiError("service_unavailable", "This job is being run by another delivery; retry later.", { headers: { "Retry-After": "30" } });
      }
      if (err instanceof JobFailure) {
        return permanent(c, services, { job: name, key, messageId, retried, workspaceId }, err.code, err.message);
      }
      // Transient: nothing of the attempt was kept. Note the attempt (best effort: the database
      // may be what failed) and answer 5xx so QStash retries.
      await record(services, { job: name, key, messageId, retried, workspaceId }, "retrying", describeError(err)).catch(() => undefined);
      throw err;
    }
    return c.json({ job: name, key, run_id: claim.runId, status: claim.status, duplicate: claim.duplicate }, 200);
  });

  return app;
}

/** Thrown when another delivery of the same logical job is still running it: come back later. */
class JobBusy extends Error {}

async function runTwoStep<P, W>(services: Services, name: JobName, key: string, payload: P, meta: JobMeta, job: TwoStepJob<P, W>): Promise<Claim> {
  const attempts = meta.retried + 1;
  const now = new Date();
  const stale = new Date(now.getTime() - job.leaseMs);
  const [mine] = await services.db
    .insert(jobRuns)
    .values({ id: newId("job"), workspaceId: meta.workspaceId, job: name, dedupKey: key, messageId: meta.messageId, status: "running", attempts, updatedAt: now })
    .onConflictDoUpdate({
      target: [jobRuns.job, jobRuns.dedupKey],
      set: { status: "running", attempts, messageId: meta.messageId, error: null, updatedAt: now, finishedAt: null },
      // A failed attempt's run, or a claim whose lease ran out (its attempt crashed), is taken over.
      setWhere: sql`${jobRuns.status} = 'retrying' or (${jobRuns.status} = 'running' and ${jobRuns.updatedAt} < ${stale})`,
    })
    .returning({ id: jobRuns.id, updatedAt: jobRuns.updatedAt });
  if (!mine) {
    const [done] = await services.db.select({ id: jobRuns.id, status: jobRuns.status }).from(jobRuns).where(and(eq(jobRuns.job, name), eq(jobRuns.dedupKey, key)));
    if (done?.status === "running") throw new JobBusy(`job ${name} ${key} is running in another delivery`);
    return { runId: done?.id ?? "", status: done?.status === "failed" ? "failed" : "completed", duplicate: true };
  }
  const runMeta = { ...meta, runId: mine.id };
  const worked = await job.work(payload, runMeta);
  return services.db.transaction(async (tx) => {
    // Completes the run only if the claim is still ours (not taken over after the lease ran out).
    const [still] = await tx
      .update(jobRuns)
      .set({ status: "completed", finishedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(jobRuns.id, mine.id), eq(jobRuns.status, "running"), eq(jobRuns.updatedAt, mine.updatedAt)))
      .returning({ id: jobRuns.id });
    if (!still) return { runId: mine.id, status: "completed" as const, duplicate: true };
    const result = await job.commit(tx, payload, runMeta, worked);
    if (result && Object.keys(result).length) await tx.update(jobRuns).set({ result }).where(eq(jobRuns.id, mine.id));
    return { runId: mine.id, status: "completed" as const, duplicate: false };
  });
}

function workspaceOf(payload: unknown): string {
  const ws = (payload as { workspace_id?: unknown } | null | undefined)?.workspace_id;
  return typeof ws === "string" && ws.length > 0 && ws.length <= 100 ? ws : SYSTEM_WORKSPACE_ID;
}

interface RunRef {
  job: JobName;
  key: string;
  messageId: string;
  retried: number;
  workspaceId?: string;
}

/** Writes a failed/retrying run unless the logical job already completed. */
async function record(services: Services, run: RunRef, status: "failed" | "retrying", error: string) {
  const now = new Date();
  const message = error.slice(0, MAX_ERROR_LENGTH);
  const [row] = await services.db
    .insert(jobRuns)
    .values({
      id: newId("job"),
      workspaceId: run.workspaceId ?? SYSTEM_WORKSPACE_ID,
      job: run.job,
      dedupKey: run.key,
      messageId: run.messageId,
      status,
      attempts: run.retried + 1,
      error: message,
      finishedAt: status === "failed" ? now : null,
    })
    .onConflictDoUpdate({
      target: [jobRuns.job, jobRuns.dedupKey],
      set: { status, attempts: run.retried + 1, messageId: run.messageId, error: message, updatedAt: now, finishedAt: status === "failed" ? now : null },
      setWhere: sql`${jobRuns.status} <> 'completed'`,
    })
    .returning({ id: jobRuns.id });
  return row?.id;
}

/** Acknowledges a delivery that must not be retried, and records it as failed. */
async function permanent(c: Context<AppEnv>, services: Services, run: RunRef, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  const runId = await record(services, run, "failed", details ? `${message} ${JSON.stringify(details)}` : message);
  const rid = c.get("requestId");
  return c.json(errorBody(code, message, rid, { ...(details ?? {}), ...(runId ? { run_id: runId } : {}) }), NON_RETRYABLE_STATUS as 400, {
    "Upstash-NonRetryable-Error": "true",
  });
}
