// Dependencies that accept a connection and then say nothing: the request ends within the
// configured deadline, with a 503 in the contract's shape where the dependency is required and
// the real answer where Parley can do without it (Redis for rate limits and usage counters).
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neonDatabase, useLocalWsProxy } from "../../lib/db-neon";
import type { Env } from "../../lib/env";
import { isDependencyFailure } from "../../lib/errors";
import { memoryKv, SILENT_BACKOFF_MS, upstashKv } from "../../lib/kv";
import { createDispatch } from "../../lib/local/dispatch";
import { useNodeWebSockets } from "../../lib/local/neon-node";
import { startWsProxy, type WsProxy } from "../../lib/local/ws-proxy";
import type { ServiceProvider } from "../../lib/services";
import { workerServices } from "../../lib/worker";
import { BASE, createHarness, expectError, type Reply, unique } from "../support/harness";

/** A TCP server that accepts every connection and never sends a byte. */
async function blackHoleTcp() {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An HTTP server that reads every request and never answers it. */
async function blackHoleHttp() {
  let requests = 0;
  const server = createHttpServer((req) => {
    requests++;
    req.resume();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Fails (instead of waiting for the test's own timeout) when `p` takes longer than `ms`. */
async function timed<T>(p: Promise<T>, ms: number): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    const value = await Promise.race([p, late]);
    return { value, ms: performance.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

async function json(res: Response): Promise<Reply> {
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers, text };
}

describe("a database that accepts connections and never answers (Workers' services, Neon driver)", () => {
  let hole: Awaited<ReturnType<typeof blackHoleTcp>>;
  let proxy: WsProxy;
  beforeAll(async () => {
    useNodeWebSockets();
    hole = await blackHoleTcp();
    proxy = await startWsProxy();
  });
  afterAll(async () => {
    await proxy.close();
    await hole.close();
  });

  it("answers 503 service_unavailable in the contract's shape within DB_CONNECT_TIMEOUT_MS", async () => {
    const env: Env = {
      DATABASE_URL: `postgres://parley:secret@127.0.0.1:${hole.port}/parley`,
      NEON_WS_PROXY: proxy.address,
      JWT_SECRET: "j".repeat(40),
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
      UPSTASH_REDIS_REST_TOKEN: "unused",
      DB_CONNECT_TIMEOUT_MS: "500",
      RATE_LIMIT_PER_MINUTE: "100000",
    };
    // Production's per-request services, with Redis in memory: only the database is silent here.
    const kv = memoryKv();
    const worker = workerServices();
    const provider: ServiceProvider = (ctx) => new Proxy(worker(ctx), { get: (t, k, r) => (k === "kv" ? kv : Reflect.get(t, k, r)) });
    const dispatch = createDispatch(provider, env);
    const signUp = () =>
      dispatch(
        new Request(`${BASE}/v1/workspaces`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } }),
        }),
      );
    const first = await timed(signUp().then(json), 10_000);
    const err = expectError(first.value, 503, "service_unavailable");
    expect(err.message).not.toMatch(/timeout|postgres|127\.0\.0\.1/i);
    expect(first.ms).toBeGreaterThanOrEqual(450);
    // And again: nothing of the first attempt is left waiting in the way.
    const second = await timed(signUp().then(json), 10_000);
    expectError(second.value, 503, "service_unavailable");
  });

  it("a bare statement fails as a dependency failure after the deadline, not minutes later", async () => {
    useLocalWsProxy(proxy.address);
    const { db, close } = neonDatabase(`postgres://parley:secret@127.0.0.1:${hole.port}/parley`, { timeouts: { connectMs: 300, queryMs: 600 } });
    try {
      const r = await timed(
        db.execute(sql`select 1`).then(
          () => null,
          (e: unknown) => e,
        ),
        3_000,
      );
      expect(r.value).toBeInstanceOf(Error);
      expect(isDependencyFailure(r.value)).toBe(true);
    } finally {
      await close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)("a statement the database holds (a row lock) past DB_QUERY_TIMEOUT_MS (PostgreSQL)", () => {
  it("answers 503, rolls the transaction back, and the pool's next request is not stuck behind it", async () => {
    // 2.5 s: the bounds below tell one query timeout from two with ~2.4 s to spare for a loaded host
    // (with 1.5 s a CI run on a busy machine took 2,811 ms against a 2,900 ms bound).
    const h = await createHarness({ DB_QUERY_TIMEOUT_MS: "2500" });
    const t = await h.signUp();
    const conv = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Before", source: "api" } });
    expect(conv.status).toBe(201);
    const id: string = conv.body.id;

    // Another session holds the conversation's row: the PATCH's SELECT … FOR UPDATE waits on it.
    const { db: other, close } = neonDatabase(process.env.DATABASE_URL!, { max: 1 });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = other.transaction(async (tx) => {
      await tx.execute(sql`select 1 from conversations where id = ${id} for update`);
      locked();
      await released;
    });
    try {
      await isLocked;
      const r = await timed(h.call("PATCH", `/v1/conversations/${id}`, { token: t.token, body: { title: "After" } }), 10_000);
      expectError(r.value, 503, "service_unavailable");
      expect(r.ms).toBeGreaterThanOrEqual(2_450);
      // One query timeout, not two (the rollback does not wait behind the stuck statement).
      expect(r.ms).toBeLessThan(4_900);
    } finally {
      release();
      await holder;
      await close();
    }
    // The abandoned transaction was rolled back, and it holds no lock: the next update goes through at once.
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.call("GET", `/v1/conversations/${id}`, { token: t.token })).body.title).toBe("Before");
    const again = await timed(h.call("PATCH", `/v1/conversations/${id}`, { token: t.token, body: { title: "Again" } }), 3_000);
    expect(again.value.status).toBe(200);
    expect(again.value.body.title).toBe("Again");
  });
});

describe("a Redis that accepts requests and never answers (the real @upstash/redis client)", async () => {
  const hole = await blackHoleHttp();
  afterAll(() => hole.close());
  const h = await createHarness({ UPSTASH_REDIS_REST_URL: hole.url, UPSTASH_REDIS_REST_TOKEN: "silent", REDIS_TIMEOUT_MS: "300" });
  // Without deadlines these requests wait minutes (fetch's header timeout); the bound is loose because
  // the host is shared with other test files (a sign-up hashes a password), not because Redis is slow.
  const DEADLINE = 10_000;

  it("lets requests through: sign-up, token and API-key requests answer normally", async () => {
    const signUp = await timed(h.signUp(), DEADLINE);
    const t = signUp.value;
    const list = await timed(h.call("GET", "/v1/conversations", { token: t.token }), DEADLINE);
    expect(list.value.status).toBe(200);
    const created = await timed(h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Hello", source: "api" } }), DEADLINE);
    expect(created.value.status).toBe(201);
    const key = await timed(h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "k", scopes: ["read"] } }), DEADLINE);
    expect(key.value.status).toBe(201);
    const byKey = await timed(h.call("GET", `/v1/conversations/${created.value.body.id}`, { token: key.value.body.key }), DEADLINE);
    expect(byKey.value.status).toBe(200);
    // Redis was asked (and never answered), so the deadlines were what let these through.
    expect(hole.requests()).toBeGreaterThan(0);
  });

  it("a command gives up after REDIS_TIMEOUT_MS; for a few seconds after, commands fail at once without asking", async () => {
    let clock = Date.now();
    const kv = upstashKv(hole.url, "silent", { timeoutMs: 200, now: () => clock });
    const before = hole.requests();
    const first = await timed(kv.get("k").then(() => null, (e: unknown) => e), 2_000);
    expect(isDependencyFailure(first.value)).toBe(true);
    expect(first.ms).toBeGreaterThanOrEqual(190);
    await new Promise((r) => setTimeout(r, 50));
    expect(hole.requests()).toBe(before + 1);
    const second = await timed(kv.incr("n", 60).then(() => null, (e: unknown) => e), 2_000);
    expect(isDependencyFailure(second.value)).toBe(true);
    expect(second.ms).toBeLessThan(50);
    expect(hole.requests()).toBe(before + 1);
    // Once the back-off is over, Redis is asked again.
    clock += SILENT_BACKOFF_MS + 1;
    const third = await timed(kv.get("k").then(() => null, (e: unknown) => e), 2_000);
    expect(isDependencyFailure(third.value)).toBe(true);
    expect(third.ms).toBeGreaterThanOrEqual(190);
    expect(hole.requests()).toBe(before + 2);
  });

  it("answers 503 where Redis is required (Idempotency-Key), and nothing is written", async () => {
    const t = await h.signUp();
    const r = await timed(
      h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Once", source: "api" }, headers: { "idempotency-key": unique("idem") } }),
      DEADLINE,
    );
    expectError(r.value, 503, "service_unavailable");
    const list = await h.call("GET", "/v1/conversations", { token: t.token });
    expect(list.body.meta.total).toBe(0);
  });
});

describe("isDependencyFailure on the timeouts' errors", () => {
  /** What drizzle throws around a driver's error: the statement and its parameters in the message. */
  const drizzleError = (cause: Error, params: unknown[]) =>
    Object.assign(new Error(`Failed query: update conversations set title = $1\nparams: ${params.join(",")}`, { cause }), { query: "update …", params });

  it("takes pg's query and connection timeouts and an aborted fetch for outages (503)", () => {
    expect(isDependencyFailure(drizzleError(new Error("Query read timeout"), ["x"]))).toBe(true);
    expect(isDependencyFailure(drizzleError(new Error("timeout exceeded when trying to connect"), []))).toBe(true);
    expect(isDependencyFailure(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toBe(true);
  });

  it("does not read a failed query's parameters: a customer's text saying 'fetch failed' is not an outage", () => {
    const unique = Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" });
    expect(isDependencyFailure(drizzleError(unique, ["fetch failed", "Query read timeout"]))).toBe(false);
    expect(isDependencyFailure(drizzleError(new Error("division by zero"), ["connection refused"]))).toBe(false);
  });
});
