// The embedded default and the test harness: builds every service for a Node process.
// Database: PGlite (in `DATA_DIR`, or in memory) unless DATABASE_URL names a PostgreSQL, which
// is then reached through the Neon driver as in production: statements over HTTP through a local
// stand-in of Neon's endpoint, transactions over WebSockets through a local proxy.
// Redis: in-process unless UPSTASH_REDIS_REST_URL is set, or REDIS_URL names a redis-server
// (reached through a local Upstash-protocol adapter and the real @upstash/redis client).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as schema from "../../schema";
import type { Database } from "../db";
import { dbTimeouts, neonDatabase, neonEdgeDatabase, useLocalHttpProxy, useLocalWsProxy } from "../db-neon";
import { type NeonHttpProxy, startNeonHttpProxy } from "./neon-http-proxy";
import type { Env } from "../env";
import { randomToken } from "../ids";
import { type Kv, memoryKv, redisTimeoutMs, upstashKv } from "../kv";
import { llmFromEnv } from "../llm";
import { type Queue, qstashQueue } from "../queue";
import { memoryStorage, type Storage } from "../storage";
import { directoryStorage } from "./storage";
import type { Config, ServiceProvider, Services } from "../services";
import { createDispatch } from "./dispatch";
import { LocalQStash } from "./qstash";
import { LocalGraph } from "./whatsapp-graph";
import { LocalMailgun } from "./mailgun";
import { DEFAULT_MAILGUN_URL } from "../mailgun";
import { and, eq, sql } from "drizzle-orm";
import { startUpstashRest } from "./upstash-rest";
import { startWsProxy } from "./ws-proxy";
import { useNodeWebSockets } from "./neon-node";
import { nodeFetch } from "./node-fetch";
import { AUTH_FAILURES_PER_MINUTE } from "../auth";
import { type DataDirLock, lockDataDir } from "./data-dir-lock";

export const MIGRATIONS_DIR = resolve(fileURLToPath(new URL("../../migrations", import.meta.url)));

export interface LocalOptions {
  /** Where data lives; `null` keeps everything in memory (tests). */
  dataDir: string | null;
  env?: Env & { REDIS_URL?: string };
  environment?: Config["environment"];
  /**
   * How the local QStash server reaches /jobs/*: "in-process" (default: through the dispatcher,
   * no socket needed, as in the test harness) or "http" (the local server, once it listens).
   */
  jobDelivery?: "in-process" | "http";
  /** A file written by writePgliteTemplate: an in-memory PGlite starts from it (tests). */
  pgliteTemplate?: string;
}

export interface LocalServices {
  provider: ServiceProvider;
  db: Database;
  kv: Kv;
  config: Config;
  queue: Queue;
  /** The in-process QStash server (null when QSTASH_URL points at a real QStash). */
  qstash: LocalQStash | null;
  /** The local Graph API stand-in (null when WHATSAPP_GRAPH_URL names another Graph). */
  graph: LocalGraph | null;
  /** The local Mailgun stand-in (null when MAILGUN_API_KEY or MAILGUN_BASE_URL names a real account). */
  mailgun: LocalMailgun | null;
  /** DATA_DIR's lock (null in memory): the server announces its URL in it. */
  dataDirLock: DataDirLock | null;
  /** What the services run on, for the start-up banner. */
  describe: { database: string; redis: string; queue: string; whatsapp: string; mailgun: string };
  close(): Promise<void>;
}

async function openDatabase(dataDir: string | null, env: LocalOptions["env"] = {}, pgliteTemplate?: string) {
  if (env.DATABASE_URL) {
    useNodeWebSockets();
    const stops: Array<() => Promise<void>> = [];
    let proxy = env.NEON_WS_PROXY;
    if (!proxy) {
      const p = await startWsProxy();
      proxy = p.address;
      stops.push(p.close);
    }
    useLocalWsProxy(proxy);
    const timeouts = dbTimeouts(env);
    {
      // Migrations run in transactions: over the Pool.
      const { db, close } = neonDatabase(env.DATABASE_URL, { max: 1, timeouts });
      const { migrate } = await import("drizzle-orm/neon-serverless/migrator");
      await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR }).finally(close);
    }
    const safeUrl = env.DATABASE_URL.replace(/\/\/[^@]*@/, "//");
    const closeAll = async (close: () => Promise<void>) => {
      await close();
      for (const stop of stops.reverse()) await stop();
    };
    if (env.NEON_HTTP === "off") {
      const { db, close } = neonDatabase(env.DATABASE_URL, { max: 10, timeouts });
      return { db, describe: `PostgreSQL via Neon driver, WebSockets only (${safeUrl})`, close: () => closeAll(close) };
    }
    // As on Workers: statements over Neon's HTTP transport (here the local stand-in, unless
    // NEON_HTTP_PROXY names one), interactive transactions over the WebSocket Pool.
    // neon()'s endpoint is one setting for the whole process (neonConfig.fetchEndpoint), so the
    // process has one stand-in, shared by every set of services in it (tests open several) and
    // stopped when the last of them closes: one's close must not cut the others off.
    let httpProxy = env.NEON_HTTP_PROXY;
    if (!httpProxy) {
      const shared = await acquireNeonHttpProxy();
      httpProxy = shared.address;
      stops.push(shared.release);
    }
    useLocalHttpProxy(httpProxy);
    const { db, close } = neonEdgeDatabase(env.DATABASE_URL, { max: 10, timeouts });
    return { db, describe: `PostgreSQL via Neon driver, HTTP and WebSockets (${safeUrl})`, close: () => closeAll(close) };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const { batchQueries } = await import("./pglite-batched");
  // pg_trgm: the search migration indexes contacts' name, email and phone by trigrams.
  const { pg_trgm } = await import("@electric-sql/pglite/contrib/pg_trgm");
  // An in-memory database may start from a template (a dump of an already-migrated one): that
  // skips initdb, the slowest part of starting PGlite (tests use it, see tests/support).
  const template = !dataDir && pgliteTemplate && existsSync(pgliteTemplate) ? new Blob([readFileSync(pgliteTemplate)]) : undefined;
  // Each query in one protocol call to the WebAssembly backend (lib/local/pglite-batched.ts).
  const client = batchQueries(
    dataDir
      ? new PGlite(join(dataDir, "pglite"), { extensions: { pg_trgm } })
      : new PGlite({ extensions: { pg_trgm }, ...(template ? { loadDataDir: template } : {}) }),
  );
  const db = drizzle({ client, schema }) as unknown as Database;
  await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
  return { db, describe: dataDir ? `PGlite in ${join(dataDir, "pglite")}` : "PGlite in memory", close: () => client.close() };
}

let sharedHttp: { started: Promise<NeonHttpProxy>; users: number } | undefined;

/** The process's Neon HTTP stand-in, started by its first user and stopped after its last. */
async function acquireNeonHttpProxy(): Promise<{ address: string; release: () => Promise<void> }> {
  sharedHttp ??= { started: startNeonHttpProxy(), users: 0 };
  const entry = sharedHttp;
  entry.users++;
  const proxy = await entry.started;
  let released = false;
  return {
    address: proxy.address,
    release: async () => {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      if (sharedHttp === entry) sharedHttp = undefined;
      await proxy.close();
    },
  };
}

async function openKv(env: LocalOptions["env"] = {}) {
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) {
    return { kv: upstashKv(env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN, { timeoutMs: redisTimeoutMs(env) }), describe: "Upstash REST", close: async () => {} };
  }
  if (env.REDIS_URL) {
    const rest = await startUpstashRest(env.REDIS_URL);
    return { kv: upstashKv(rest.url, rest.token, { timeoutMs: redisTimeoutMs(env) }), describe: `redis-server via Upstash REST adapter (${env.REDIS_URL})`, close: rest.close };
  }
  return { kv: memoryKv(), describe: "in-process", close: async () => {} };
}

/** Writes a dump of a freshly migrated in-memory PGlite to `file` (a template for openDatabase). */
export async function writePgliteTemplate(file: string): Promise<void> {
  const { db, close } = await openDatabase(null, {});
  const client = (db as unknown as { $client: { dumpDataDir(c: "gzip"): Promise<Blob> } }).$client;
  const dump = await client.dumpDataDir("gzip");
  writeFileSync(file, new Uint8Array(await dump.arrayBuffer()));
  await close();
}

/** The JWT secret: from the environment, else generated once and kept in DATA_DIR. */
function jwtSecret(dataDir: string | null, env: LocalOptions["env"] = {}): string {
  if (env.JWT_SECRET) return env.JWT_SECRET;
  if (!dataDir) return randomToken(32);
  const file = join(dataDir, "jwt-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = randomToken(48);
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** A secret: from the environment, else generated once and kept in DATA_DIR/`file`. */
function localSecret(dataDir: string | null, given: string | undefined, file: string): string {
  if (given) return given;
  if (!dataDir) return randomToken(32);
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  const secret = randomToken(32);
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}

/** QStash signing keys: from the environment, else generated once and kept in DATA_DIR. */
function qstashSigningKeys(dataDir: string | null, env: LocalOptions["env"] = {}): { current: string; next: string } {
  if (env.QSTASH_CURRENT_SIGNING_KEY && env.QSTASH_NEXT_SIGNING_KEY) return { current: env.QSTASH_CURRENT_SIGNING_KEY, next: env.QSTASH_NEXT_SIGNING_KEY };
  const make = () => ({ current: `sig_${randomToken(24)}`, next: `sig_${randomToken(24)}` });
  if (!dataDir) return make();
  const file = join(dataDir, "qstash-signing-keys.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as { current: string; next: string };
  const keys = make();
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

export async function createLocalServices(opts: LocalOptions): Promise<LocalServices> {
  if (!opts.dataDir) return openLocalServices(opts, null);
  mkdirSync(opts.dataDir, { recursive: true });
  // Before anything in DATA_DIR is opened: a second process on it is refused (DataDirLockedError).
  const lock = lockDataDir(opts.dataDir);
  try {
    return await openLocalServices(opts, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openLocalServices(opts: LocalOptions, lock: DataDirLock | null): Promise<LocalServices> {
  const env = opts.env ?? {};
  const database = await openDatabase(opts.dataDir, env, opts.pgliteTemplate);
  const redis = await openKv(env);
  const config: Config = {
    environment: opts.environment ?? "development",
    jwtSecret: jwtSecret(opts.dataDir, env),
    publicBaseUrl: env.PUBLIC_BASE_URL?.replace(/\/+$/, ""),
    rateLimitPerMinute: Number(env.RATE_LIMIT_PER_MINUTE) > 0 ? Number(env.RATE_LIMIT_PER_MINUTE) : 1000,
    authFailuresPerMinute: Number(env.AUTH_FAILURES_PER_MINUTE) > 0 ? Number(env.AUTH_FAILURES_PER_MINUTE) : AUTH_FAILURES_PER_MINUTE,
    filesSigningKey: localSecret(opts.dataDir, env.FILES_SIGNING_KEY, "files-signing-key"),
    // The local server may deliver webhooks to loopback receivers unless told otherwise.
    webhooksAllowPrivateTargets: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS !== "false",
    // WhatsApp: the platform app's secret and verify token are generated once into DATA_DIR
    // unless set; Graph is the local stand-in (below) unless WHATSAPP_GRAPH_URL names one.
    whatsapp: {
      graphUrl: env.WHATSAPP_GRAPH_URL ?? "",
      appSecret: localSecret(opts.dataDir, env.WHATSAPP_APP_SECRET, "whatsapp-app-secret"),
      verifyToken: localSecret(opts.dataDir, env.WHATSAPP_VERIFY_TOKEN, "whatsapp-verify-token"),
    },
    // Mailgun's webhook signing key (route forwards, events): generated once into DATA_DIR unless set.
    mailgunWebhookSigningKey: localSecret(opts.dataDir, env.MAILGUN_WEBHOOK_SIGNING_KEY, "mailgun-webhook-signing-key"),
    // Outbound email: the local Mailgun stand-in (below) unless MAILGUN_API_KEY or MAILGUN_BASE_URL is set.
    mailgun: { baseUrl: env.MAILGUN_BASE_URL || DEFAULT_MAILGUN_URL, apiKey: env.MAILGUN_API_KEY || undefined, domain: env.MAILGUN_DOMAIN || undefined },
  };
  const storage: Storage = opts.dataDir ? directoryStorage(join(opts.dataDir, "files")) : memoryStorage();
  // Jobs: QStash is called back at PUBLIC_BASE_URL; locally that is this process (the local
  // server sets its real URL once it listens). A local QStash-protocol server runs in-process
  // unless QSTASH_URL and QSTASH_TOKEN name another.
  config.publicBaseUrl ??= "http://127.0.0.1:8787";
  config.qstashSigningKeys = qstashSigningKeys(opts.dataDir, env);
  let qstash: LocalQStash | null = null;
  let queueUrl = env.QSTASH_URL;
  let queueToken = env.QSTASH_TOKEN;
  if (!queueUrl || !queueToken) {
    queueToken = queueToken || randomToken(24);
    qstash = await LocalQStash.start({ dataDir: opts.dataDir, token: queueToken, signingKeys: config.qstashSigningKeys, paused: opts.jobDelivery === "http" });
    queueUrl = qstash.url;
  }
  const queue = qstashQueue({ baseUrl: queueUrl, token: queueToken, publicBaseUrl: () => config.publicBaseUrl });
  // OpenAI (or any compatible server) when OPENAI_API_KEY is set, else parley-offline; its
  // requests go over node:http, which costs less per request than Node's built-in fetch.
  const llm = llmFromEnv(env, { fetch: nodeFetch });
  const provider: ServiceProvider = (ctx) => {
    const held: Promise<unknown>[] = [];
    const services: Services = {
      db: database.db,
      kv: redis.kv,
      config,
      queue,
      llm,
      storage,
      waitUntil: ctx.waitUntil,
      holdOpen: (p) => void held.push(p),
    };
    return services;
  };
  // The Graph stand-in signs its status webhooks as Meta would: with the channel's own app
  // secret when it has one, else the platform's; the local server gets sent and delivered back.
  let graph: LocalGraph | null = null;
  if (!env.WHATSAPP_GRAPH_URL) {
    graph = await LocalGraph.start({
      secretFor: async (phoneNumberId) => {
        const [row] = await database.db
          .select({ secrets: schema.channels.secrets })
          .from(schema.channels)
          .where(and(eq(schema.channels.type, "whatsapp"), eq(schema.channels.inboundKey, phoneNumberId)))
          .limit(1);
        return row?.secrets?.app_secret || config.whatsapp.appSecret;
      },
      webhookUrl: () => `${config.publicBaseUrl}/inbound/whatsapp`,
      autoStatuses: opts.jobDelivery === "http" ? ["sent", "delivered"] : [],
    });
    config.whatsapp.graphUrl = graph.url;
  }
  // The Mailgun stand-in accepts the platform key for the platform domain and each email
  // channel's own mailgun_api_key for its mailgun_domain; it signs events as Mailgun would.
  let mailgun: LocalMailgun | null = null;
  if (!env.MAILGUN_API_KEY && !env.MAILGUN_BASE_URL) {
    config.mailgun.apiKey = `key-${randomToken(16)}`;
    config.mailgun.domain ??= "mg.parley.localhost";
    const channelsOf = (domain: string) =>
      database.db
        .select({ secrets: schema.channels.secrets })
        .from(schema.channels)
        .where(and(eq(schema.channels.type, "email"), sql`${schema.channels.config}->>'mailgun_domain' = ${domain}`));
    mailgun = await LocalMailgun.start({
      keysFor: async (domain) => [
        ...[domain === config.mailgun.domain ? config.mailgun.apiKey : undefined, ...(await channelsOf(domain)).map((c) => c.secrets?.mailgun_api_key)].filter(
          (k): k is string => !!k,
        ),
      ],
      signingKeyFor: async (domain) => (await channelsOf(domain)).map((c) => c.secrets?.webhook_signing_key).find(Boolean) || config.mailgunWebhookSigningKey,
      webhookUrl: () => `${config.publicBaseUrl}/inbound/mailgun/events`,
      autoEvents: opts.jobDelivery === "http" ? ["delivered"] : [],
    });
    config.mailgun.baseUrl = mailgun.url;
  }
  if (qstash && opts.jobDelivery !== "http") {
    // Our own jobs go through the dispatcher; any other destination over HTTP.
    const dispatch = createDispatch(provider, env);
    qstash.deliverVia((req) => (new URL(req.url).origin === new URL(config.publicBaseUrl!).origin ? dispatch(req) : fetch(req)));
    graph?.deliverVia(dispatch);
    mailgun?.deliverVia(dispatch);
  }
  return {
    provider,
    db: database.db,
    kv: redis.kv,
    config,
    queue,
    qstash,
    graph,
    mailgun,
    dataDirLock: lock,
    describe: {
      database: database.describe,
      redis: redis.describe,
      queue: qstash ? `local QStash server (${qstash.url})` : `QStash (${queueUrl})`,
      whatsapp: graph ? `local Graph API stand-in (${graph.url})` : `Graph API (${config.whatsapp.graphUrl})`,
      mailgun: mailgun ? `local Mailgun stand-in (${mailgun.url}, domain ${config.mailgun.domain})` : `Mailgun (${config.mailgun.baseUrl}${config.mailgun.domain ? `, domain ${config.mailgun.domain}` : ""})`,
    },
    close: async () => {
      // First the queue and Graph (their in-flight deliveries still use the database), then the rest.
      await qstash?.close();
      await graph?.close();
      await mailgun?.close();
      await redis.close();
      await database.close();
      lock?.release();
    },
  };
}
