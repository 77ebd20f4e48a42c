// The one app factory. `createRouter()` gives an OpenAPIHono whose validation failures
// become the contract's 400/422; `createApp()` adds the request pipeline every function
// shares: request id → services → event dispatch → body limit → auth → rate limit → usage and
// daily quota → idempotency, with one not-found and one error handler.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { authenticate } from "./auth";
import { ApiError, dataException, describeError, describeStack, type ErrorCode, errorBody, fieldErrors, isDependencyFailure, TRANSACTION_CONFLICT, transactionConflict, uniqueViolation } from "./errors";
import type { AppEnv } from "./env";
import { eventDispatch } from "./event-dispatch";
import { idempotency } from "./idempotency";
import { newId } from "./ids";
import { limitJsonDepth } from "./json-depth";
import { rateLimit } from "./rate-limit";
import { usage } from "./usage";

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    strict: false,
    defaultHook: (result) => {
      if (result.success) return;
      const where = (result as { target?: string }).target ?? "json";
      const issues = (result.error as { issues: Array<{ path: PropertyKey[]; message: string }> }).issues;
      const fields = fieldErrors(issues);
      if (where === "json" || where === "form") {
        throw new ApiError("validation_error", "The request body is invalid.", { details: { fields } });
      }
      const noun = where === "param" ? "path parameter" : where === "header" ? "header" : "query parameter";
      throw new ApiError("bad_request", `Invalid ${noun}: ${Object.keys(fields).join(", ")}.`, { details: { fields } });
    },
  });
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

const requestId = createMiddleware<AppEnv>(async (c, next) => {
  c.set("startedAt", performance.now());
  const given = c.req.header("x-request-id");
  const id = given && REQUEST_ID_RE.test(given) ? given : newId("req");
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});

function waitUntilFor(c: Context<AppEnv>) {
  return (p: Promise<unknown>) => {
    const guarded = p.catch((err) => console.error(JSON.stringify({ msg: "background task failed", request_id: c.get("requestId"), error: describeError(err) })));
    try {
      c.executionCtx.waitUntil(guarded);
    } catch {
      // Not on Workers (Node server, tests): the promise simply runs on.
    }
  };
}

const services = createMiddleware<AppEnv>(async (c, next) => {
  const provider = c.env?.PARLEY_SERVICES;
  if (!provider) throw new Error("No services provider: run through lib/worker.ts or the local server.");
  const waitUntil = waitUntilFor(c);
  const deferred: Array<() => Promise<unknown>> = [];
  c.set("services", provider({ env: c.env, waitUntil, defer: (fn) => void deferred.push(fn) }));
  try {
    await next();
  } finally {
    if (deferred.length) waitUntil(Promise.all(deferred.map((fn) => fn())));
  }
});

const STATUS_CODE: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "bad_request",
  422: "validation_error",
  429: "rate_limit_exceeded",
  503: "service_unavailable",
};

export function handleError(err: Error, c: Context<AppEnv>): Response {
  const rid = c.get("requestId") ?? newId("req");
  const send = (code: ErrorCode, status: number, message: string, details?: Record<string, unknown>, headers?: Record<string, string>) =>
    c.json(errorBody(code, message, rid, details), status as 400, { "X-Request-Id": rid, ...(headers ?? {}) });

  if (err instanceof ApiError) {
    if (err.code === "internal_error" || err.code === "service_unavailable") {
      console.error(JSON.stringify({ msg: err.message, code: err.code, request_id: rid, cause: err.cause === undefined ? "" : describeError(err.cause) }));
    }
    return send(err.code, err.status, err.message, err.details, err.headers);
  }
  const conflict = transactionConflict(err);
  if (conflict) {
    // Postgres rolled the whole transaction back (deadlock or serialization failure): nothing was
    // written, and the same request a moment later will most likely go through.
    console.warn(JSON.stringify({ msg: "transaction conflict", sqlstate: conflict, request_id: rid, error: describeError(err) }));
    return send("service_unavailable", 503, TRANSACTION_CONFLICT.message, { ...TRANSACTION_CONFLICT.details }, { ...TRANSACTION_CONFLICT.headers });
  }
  if (isDependencyFailure(err)) {
    console.error(JSON.stringify({ msg: "dependency failure", request_id: rid, error: describeError(err) }));
    return send("service_unavailable", 503, "A service Parley depends on is unavailable. Nothing was written; try again.");
  }
  if (uniqueViolation(err)) {
    return send("conflict", 409, "A resource with these unique fields already exists.");
  }
  if (dataException(err)) {
    // A safety net: schemas should already refuse such values with a 422 naming the field.
    return send("bad_request", 400, "A value in the request cannot be stored (for example a NUL character or a number out of range).");
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code = STATUS_CODE[err.status] ?? "bad_request";
    const message = err.status === 400 && /JSON/i.test(err.message) ? "Malformed JSON in request body." : err.message || code;
    return send(code, err.status === 415 ? 400 : err.status, message);
  }
  console.error(JSON.stringify({ msg: "unhandled error", request_id: rid, error: describeError(err), stack: describeStack(err) }));
  return send("internal_error", 500, "Something went wrong on our side. Quote the request id if you contact support.");
}

/**
 * Refuses a body over `limit` bytes with 413. A body with a Content-Length is judged by it
 * (Node's HTTP parser and the Workers runtime hold the body to that length), without reading the
 * body here: on the local server, touching `c.req.raw.body` (as Hono's bodyLimit does first)
 * turns @hono/node-server's light request into a full fetch Request, and the JSON is then read
 * through its web stream instead of straight from the socket, ~0.1 ms per request. A streamed
 * (chunked) body goes through Hono's bodyLimit, which counts what arrives.
 */
function limitBody(limit: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new ApiError("payload_too_large", `The request body is larger than ${limit} bytes.`);
  };
  const counted = bodyLimit({ maxSize: limit, onError: tooLarge });
  return async (c, next) => {
    const length = c.req.header("content-length");
    if (!c.req.header("transfer-encoding")) {
      if (length !== undefined && /^\d{1,15}$/.test(length)) return Number(length) > limit ? tooLarge() : next();
      // Neither header: a request without a body (HTTP/1.1 has no other way to send one).
      if (length === undefined && (c.req.method === "GET" || c.req.method === "HEAD")) return next();
    }
    return counted(c, next);
  };
}

export interface CreateAppOptions {
  /** Largest accepted request body in bytes (uploads raise it). */
  bodyLimit?: number;
}

export function createApp(opts: CreateAppOptions = {}) {
  const app = createRouter();
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  app.use(requestId);
  app.use(services);
  // Fans out the events the request recorded once it is done (lib/event-dispatch.ts).
  app.use(eventDispatch);
  app.use(limitBody(limit));
  app.use(authenticate);
  app.use(limitJsonDepth);
  app.use(rateLimit);
  app.use(usage);
  app.use(idempotency);
  app.notFound((c) => {
    // A path this function serves, with another method: 405 with Allow (RFC 9110 §15.5.6).
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length) {
      const allow = allowed.join(", ");
      return handleError(
        new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}.`, { details: { allowed }, headers: { Allow: allow } }),
        c,
      );
    }
    return handleError(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}.`), c);
  });
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The methods that have a route (not only middleware) for `path` in `app`, asked of the app's own
 * router: the router holds [handler, route] pairs, and middleware are routes of method ALL. HEAD
 * goes with GET (Hono answers a HEAD with the GET route).
 */
export function allowedMethods(app: { router: { match(method: string, path: string): unknown } }, path: string): string[] {
  const has = (method: string) => {
    const [matches] = app.router.match(method, path) as [Array<[[unknown, { method: string }], unknown]>];
    return matches.some(([[, route]]) => route?.method === method);
  };
  const allowed = METHODS.filter((m) => m !== "HEAD" && has(m));
  return METHODS.filter((m) => allowed.includes(m as never) || (m === "HEAD" && allowed.includes("GET")));
}
