// Runs one built function (dist/<name>/index.js, what `wrangler deploy` uploads) in workerd
// through Miniflare, with the bindings production has, pointed at this machine's services.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, inject } from "vitest";
import { functions } from "../../functions/registry";
import { buildFunctions } from "../../scripts/build";
import { COMPATIBILITY_DATE, edgeOptions, wranglerConfig } from "../../scripts/wrangler-toml";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export const edge = inject("edge");
/** `describe.skipIf(skipEdge)`: the suite needs DATABASE_URL (see global-setup.ts). */
export const skipEdge = edge.skip !== null;

export interface EdgeReply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface EdgeWorker {
  mf: Miniflare;
  /** Stops workerd now (otherwise after the file's tests). */
  dispose(): Promise<void>;
  call<T = any>(method: string, path: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<EdgeReply<T>>;
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|json|sql)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ["functions", "lib", "schema"]) walk(join(ROOT, d));
  for (const f of ["wrangler.toml", "package-lock.json"]) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}

/** Builds dist/<name> with wrangler when it is missing or older than any source file. */
export async function ensureBuilt(name: string): Promise<void> {
  const bundle = join(ROOT, "dist", name, "index.js");
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()) return;
  const [report] = await buildFunctions([name]);
  if (report?.problems.length) throw new Error(report.problems.join("; "));
}

/** Starts the named function's bundle in workerd (building it first if stale); disposed after the file's tests. */
export async function startWorker(name: string, bindings: Record<string, string> = {}): Promise<EdgeWorker> {
  await ensureBuilt(name);
  const env = wranglerConfig(functions, edgeOptions()).env[name];
  if (!env) throw new Error(`no function ${name} in the registry`);
  const dir = join(ROOT, "dist", name);
  const mf = new Miniflare({
    name: env.name,
    // Listed, not discovered: the bundle keeps dynamic import()s Miniflare cannot follow.
    modulesRoot: dir,
    modules: readdirSync(dir)
      .filter((f) => /\.(m?js|wasm)$/.test(f))
      .sort((a, b) => (a === "index.js" ? -1 : b === "index.js" ? 1 : a.localeCompare(b)))
      .map((f) => ({ type: f.endsWith(".wasm") ? ("CompiledWasm" as const) : ("ESModule" as const), path: join(dir, f) })),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      ...env.vars,
      ENVIRONMENT: "test",
      DATABASE_URL: edge.databaseUrl,
      NEON_WS_PROXY: edge.wsProxy,
      NEON_HTTP_PROXY: edge.httpProxy,
      JWT_SECRET: randomBytes(32).toString("hex"),
      UPSTASH_REDIS_REST_URL: edge.redisRestUrl,
      UPSTASH_REDIS_REST_TOKEN: edge.redisRestToken,
      RATE_LIMIT_PER_MINUTE: "100000",
      ...bindings,
    },
    // The R2 buckets the function is bound to (in memory here).
    ...(env.r2_buckets?.length ? { r2Buckets: env.r2_buckets.map((b) => b.binding) } : {}),
    ...(env.assets ? { assets: { directory: join(ROOT, env.assets.directory), binding: env.assets.binding, routerConfig: { has_user_worker: true } } } : {}),
  });
  let disposed: Promise<void> | undefined;
  const dispose = () => (disposed ??= mf.dispose());
  afterAll(dispose);
  const host = `https://${edgeOptions().host}`;
  return {
    mf,
    dispose,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.body !== undefined) headers["content-type"] ??= "application/json";
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      const res = await mf.dispatchFetch(`${host}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: body as any, headers: res.headers as unknown as Headers, text };
    },
  };
}

export const uniqueEmail = (label = "edge") => `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
