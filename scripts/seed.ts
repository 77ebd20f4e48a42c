// `npm run seed`: creates a demo workspace through the public API and prints a login and an
// API key. By default it runs the API in-process on the same data as `npm start` (DATA_DIR,
// or DATABASE_URL); when `npm start` holds DATA_DIR (its lock names the server's URL) it calls
// that server over HTTP instead, as it does with PARLEY_URL=http://127.0.0.1:8787.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createDispatch, type Dispatch } from "../lib/local/dispatch";
import { DataDirLockedError } from "../lib/local/data-dir-lock";
import { createLocalServices } from "../lib/local/services";

export interface SeedResult {
  workspaceId: string;
  email: string;
  password: string;
  apiKey: string;
}

async function call(dispatch: Dispatch, base: string, method: string, path: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await dispatch(new Request(`${base}${path}`, { method, headers, body: JSON.stringify(body) }));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

/** Signs up the demo workspace (or logs in when it exists) and creates a fresh API key. */
export async function seed(dispatch: Dispatch, base: string, opts: { email?: string; password?: string } = {}): Promise<SeedResult> {
  const email = opts.email ?? "demo@parley.example";
  const password = opts.password ?? "demo-password-123";
  let r = await call(dispatch, base, "POST", "/v1/workspaces", { name: "Demo workspace", owner: { name: "Demo Owner", email, password } });
  if (r.status === 409) r = await call(dispatch, base, "POST", "/v1/auth/token", { email, password });
  if (r.status !== 201 && r.status !== 200) throw new Error(`sign-up/login failed: ${r.status} ${r.text}`);
  const token: string = r.body.access_token;
  const workspaceId: string = r.body.workspace?.id ?? r.body.agent?.workspace_id ?? "";
  const key = await call(dispatch, base, "POST", "/v1/api-keys", { name: `seed ${new Date().toISOString()}`, scopes: ["read", "write"] }, token);
  if (key.status !== 201) throw new Error(`creating the API key failed: ${key.status} ${key.text}`);
  return { workspaceId, email, password, apiKey: key.body.key };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const env = process.env as Record<string, string | undefined>;
  let result: SeedResult;
  let where: string;
  let base = `http://127.0.0.1:${env.PORT ?? 8787}`;
  const login = { email: env.SEED_EMAIL, password: env.SEED_PASSWORD };
  const dataDir = resolve(env.DATA_DIR ?? ".data");
  let services: Awaited<ReturnType<typeof createLocalServices>> | null = null;
  let serverUrl = env.PARLEY_URL;
  if (!serverUrl) {
    try {
      services = await createLocalServices({ dataDir, env, environment: "development" });
    } catch (err) {
      // A running server holds DATA_DIR: go through it (opening its database too would corrupt it).
      if (!(err instanceof DataDirLockedError && err.holder.url)) {
        console.error(err instanceof Error ? err.message : String(err));
        process.exit(1);
      }
      serverUrl = err.holder.url;
      console.log(`DATA_DIR ${dataDir} is held by the running server (pid ${err.holder.pid}): seeding through ${serverUrl}`);
    }
  }
  if (services) {
    try {
      result = await seed(createDispatch(services.provider, env), base, login);
    } finally {
      await services.close();
    }
    where = services.describe.database;
  } else {
    base = serverUrl!.replace(/\/+$/, "");
    result = await seed((req) => fetch(req), base, login);
    where = base;
  }
  console.log(`Demo workspace ready (${where})
  workspace  ${result.workspaceId}
  login      ${result.email} / ${result.password}   (POST /v1/auth/token)
  API key    ${result.apiKey}   (shown once; Authorization: Bearer …)
Try: curl -H "Authorization: Bearer ${result.apiKey}" ${base}/v1/agents`);
}
