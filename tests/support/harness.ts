// The test harness: the whole API on local services (PGlite in memory by default; real
// PostgreSQL through the Neon driver when DATABASE_URL is set; real Redis when REDIS_URL is),
// called in-process through the same dispatch as the local server.
import { afterAll, inject } from "vitest";
import { createDispatch, type Dispatch } from "../../lib/local/dispatch";
import { createLocalServices, type LocalServices } from "../../lib/local/services";

export const BASE = "http://127.0.0.1:8787";

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  raw?: BodyInit;
  token?: string;
  headers?: Record<string, string>;
}

export interface Harness {
  services: LocalServices;
  dispatch: Dispatch;
  call<T = any>(method: string, path: string, opts?: CallOptions): Promise<Reply<T>>;
  signUp(opts?: { name?: string }): Promise<Tenant>;
}

export interface Tenant {
  workspaceId: string;
  agentId: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

let counter = 0;
export const unique = (label = "t") => `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export async function createHarness(envOverrides: Record<string, string> = {}): Promise<Harness> {
  const env = { ...pick(process.env, ["DATABASE_URL", "REDIS_URL", "NEON_WS_PROXY", "NEON_HTTP_PROXY", "NEON_HTTP"]), RATE_LIMIT_PER_MINUTE: "100000", AUTH_FAILURES_PER_MINUTE: "100000", ...envOverrides };
  const services = await createLocalServices({ dataDir: null, env, environment: "test", pgliteTemplate: inject("pgliteTemplate") || undefined });
  const dispatch = createDispatch(services.provider, env);
  afterAll(() => services.close());

  const call: Harness["call"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: BodyInit | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await dispatch(new Request(`${BASE}${path}`, { method, headers, body }));
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as any, headers: res.headers, text };
  };

  const signUp: Harness["signUp"] = async (o = {}) => {
    const email = `${unique("owner")}@example.com`;
    const password = "s3cret-password";
    const r = await call("POST", "/v1/workspaces", { body: { name: o.name ?? unique("ws"), owner: { name: "Owner", email, password } } });
    if (r.status !== 201) throw new Error(`sign-up failed: ${r.status} ${r.text}`);
    return { workspaceId: r.body.workspace.id, agentId: r.body.agent.id, email, password, token: r.body.access_token, refreshToken: r.body.refresh_token };
  };

  return { services, dispatch, call, signUp };
}

function pick(src: Record<string, string | undefined>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (src[k]) out[k] = src[k]!;
  return out;
}

/** Asserts the contract's error shape and returns the error object. */
export function expectError(r: Reply, status: number, code: string) {
  if (r.status !== status || r.body?.error?.code !== code || typeof r.body?.error?.message !== "string" || typeof r.body?.error?.request_id !== "string") {
    throw new Error(`expected ${status} ${code}, got ${r.status} ${r.text.slice(0, 500)}`);
  }
  return r.body.error as { code: string; message: string; details?: any; request_id: string };
}
