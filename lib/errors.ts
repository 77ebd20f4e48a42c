// The one error type of the API and the one table that maps its codes to HTTP statuses.
// Every function, job and webhook endpoint answers errors through `errorBody`.
import { z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  validation_error: 422,
  rate_limit_exceeded: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

const DEFAULT_MESSAGE: Record<ErrorCode, string> = {
  bad_request: "The request could not be understood.",
  unauthorized: "Authentication is required.",
  forbidden: "You are not allowed to do this.",
  not_found: "No such resource.",
  method_not_allowed: "This method is not allowed on this path.",
  conflict: "The request conflicts with the current state.",
  payload_too_large: "The request body is too large.",
  validation_error: "The request body is invalid.",
  rate_limit_exceeded: "Too many requests.",
  internal_error: "Something went wrong on our side.",
  service_unavailable: "A service Parley depends on is unavailable. Nothing was written; try again.",
};

export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(ERROR_STATUS[code], { message: message ?? DEFAULT_MESSAGE[code], cause: opts.cause });
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export const notFound = (what = "resource") => new ApiError("not_found", `No such ${what}.`);

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown>; request_id: string };
}

export function errorBody(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, ...(details ? { details } : {}), request_id: requestId } };
}

/** A JSON Response in the contract's error shape (for places outside a Hono context). */
export function errorResponse(
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(errorBody(code, message, requestId, details)), {
    status: ERROR_STATUS[code],
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId, ...headers },
  });
}

/** Turns zod issues into `{ "a.b": ["message", …] }`, every issue listed. */
export function fieldErrors(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>) {
  const fields: Record<string, string[]> = {};
  for (const issue of issues) {
    const key = issue.path.length ? issue.path.map(String).join(".") : "_";
    fields[key] = [...(fields[key] ?? []), issue.message];
  }
  return fields;
}

/**
 * An error as a log line, without the values a failed query carried. drizzle's query errors put
 * the statement's parameters in their message (a customer's message, an email, a token hash):
 * logs keep the statement's start, the database's own message and its SQLSTATE instead.
 */
export function describeError(err: unknown): string {
  const e = err as { query?: unknown; params?: unknown; cause?: unknown } | null;
  if (e && typeof e.query === "string" && Array.isArray(e.params)) {
    const cause = e.cause as { message?: unknown; code?: unknown } | undefined;
    const query = e.query.replace(/\s+/g, " ").trim().slice(0, 160);
    const why = typeof cause?.message === "string" ? cause.message : String(e.cause ?? "");
    return `Failed query: ${query} (${e.params.length} parameters withheld): ${why}${typeof cause?.code === "string" ? ` [${cause.code}]` : ""}`;
  }
  if (e && typeof e.cause === "object" && e.cause !== null && (e.cause as { query?: unknown }).query !== undefined) {
    return `${err instanceof Error ? err.name : "Error"}: ${describeError(e.cause)}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The stack of `err` with its first line (the message) replaced by describeError's. */
export function describeStack(err: unknown): string | undefined {
  const stack = (err as { stack?: unknown } | null)?.stack;
  if (typeof stack !== "string") return undefined;
  const at = stack.indexOf("\n    at ");
  return `${describeError(err)}${at >= 0 ? stack.slice(at) : ""}`;
}

// SQLSTATE classes that mean "the database is not there right now", not "your query is wrong".
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3]|57014|58)/;

/** Walks an error's cause chain and says whether it is a dependency outage (→ 503). */
export function isDependencyFailure(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    if (cur instanceof ApiError) return cur.code === "service_unavailable";
    const e = cur as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === "string") {
      if (/^[0-9A-Z]{5}$/.test(e.code)) return UNAVAILABLE_SQLSTATE.test(e.code);
      if (/^(ECONN|ETIMEDOUT|ENOTFOUND|EPIPE|EAI_AGAIN|UND_ERR)/.test(e.code)) return true;
    }
    if (e.name === "DependencyError" || e.name === "TimeoutError") return true;
    // drizzle's wrapper of a failed query spells out the statement's parameters (customers' text) in
    // its message: only its cause, the driver's own error, is looked at.
    const wrapsQuery = typeof (cur as { query?: unknown }).query === "string" && Array.isArray((cur as { params?: unknown }).params);
    const msg = typeof e.message === "string" && !wrapsQuery ? e.message : "";
    // Then: pg's pool waiting for a connection (DB_CONNECT_TIMEOUT_MS), pg's query_timeout
    // (DB_QUERY_TIMEOUT_MS), an AbortSignal.timeout's abort, and Neon's HTTP transport failing to
    // reach its endpoint or answered 5xx by it (NeonDbError's own messages).
    if (
      /connection (terminated|refused|closed|ended)|ECONNREFUSED|WebSocket|socket hang up|fetch failed|PGlite is closed|timeout exceeded when trying to connect|Query read timeout|The operation was aborted due to timeout|^Error connecting to database|^Server error \(HTTP status 5\d\d\)/i.test(
        msg,
      )
    ) {
      return true;
    }
    cur = e.cause;
  }
  return false;
}

/**
 * Postgres serialization failure (40001) or deadlock (40P01), looked for through drizzle's
 * wrapping: the transaction lost a race with a concurrent one and was rolled back whole, so the
 * same request run again will most likely succeed. Answered 503 with `Retry-After: 1` (not 500).
 */
export function transactionConflict(err: unknown): "40001" | "40P01" | null {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    if (cur instanceof ApiError) return null;
    const e = cur as { code?: unknown; cause?: unknown };
    if (e.code === "40001" || e.code === "40P01") return e.code;
    cur = e.cause;
  }
  return null;
}

/** What a transaction conflict is answered with: the contract's 503, with a reason and a short Retry-After. */
export const TRANSACTION_CONFLICT = {
  message: "The request collided with a concurrent change and was rolled back. Nothing was written; retry.",
  details: { reason: "transaction_conflict" },
  headers: { "Retry-After": "1" },
} as const;

/** The first error in `err`'s cause chain (drizzle wraps the driver's) whose SQLSTATE `matches`. */
function pgErrorWhere(err: unknown, matches: (code: string) => boolean): { code: string; constraint?: unknown } | null {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 6; depth++) {
    const e = cur as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (typeof e.code === "string" && matches(e.code)) return e as { code: string; constraint?: unknown };
    cur = e.cause;
  }
  return null;
}

const constraintOf = (e: { constraint?: unknown } | null) => (e ? { constraint: typeof e.constraint === "string" ? e.constraint : undefined } : null);

/** Postgres unique violation (23505), looked for through drizzle's wrapping. */
export function uniqueViolation(err: unknown): { constraint?: string } | null {
  return constraintOf(pgErrorWhere(err, (code) => code === "23505"));
}

/** Postgres foreign key violation (23503), looked for through drizzle's wrapping. */
export function foreignKeyViolation(err: unknown): { constraint?: string } | null {
  return constraintOf(pgErrorWhere(err, (code) => code === "23503"));
}

/** Postgres data exception (SQLSTATE class 22: NUL byte, value out of range, bad cast): bad input, not our bug. */
export function dataException(err: unknown): boolean {
  return pgErrorWhere(err, (code) => /^22[0-9A-Z]{3}$/.test(code)) !== null;
}

export class DependencyError extends Error {
  override name = "DependencyError";
}

// ---- OpenAPI side of the same table ----

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      request_id: z.string(),
    }),
  })
  .openapi("Error", {
    example: {
      error: {
        code: "validation_error",
        message: "The request body is invalid.",
        details: { fields: { title: ["Required"] } },
        request_id: "req_01jd3k9v6q8f2m4x7c5b0n1p2r",
      },
    },
  });

const STATUS_DESCRIPTION: Record<number, string> = {
  400: "Malformed JSON, a bad query parameter or a bad multipart body (`bad_request`).",
  401: "No or invalid credentials (`unauthorized`).",
  403: "The role or key scope does not allow this (`forbidden`).",
  404: "No such resource in your workspace (`not_found`).",
  409: "Conflict: a unique field is taken, an idempotency key was reused, or the state change is invalid (`conflict`).",
  413: "Body over its limit (`payload_too_large`).",
  422: "The body fails the schema; `details.fields` lists every problem (`validation_error`).",
  429: "Rate limit exceeded (`rate_limit_exceeded`); see `Retry-After`.",
  500: "Unexpected error (`internal_error`); no internals are revealed.",
  503: "A dependency is down, or the request collided with a concurrent change (`service_unavailable`, `details.reason: \"transaction_conflict\"`, `Retry-After: 1`); nothing was written.",
};

type ErrStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503;

/** OpenAPI error responses for a route: always 400/401/422/429/500/503, plus the ones named. */
export function errorResponses<S extends ErrStatus>(...extra: S[]) {
  const statuses = new Set<ErrStatus>([400, 422, 429, 500, 503, ...extra]);
  const out: Record<string, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }> = {};
  for (const s of [...statuses].sort()) {
    out[s] = { description: STATUS_DESCRIPTION[s] ?? "Error", content: { "application/json": { schema: ErrorSchema } } };
  }
  return out as Record<S | 400 | 422 | 429 | 500 | 503, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
}
