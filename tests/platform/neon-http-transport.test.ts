// Neon's HTTP transport for statements outside interactive transactions (lib/db-neon.ts
// neonEdgeDatabase), through the local stand-in of Neon's endpoint: a statement is one fetch, a
// batch is one fetch, no WebSocket is opened until a transaction starts, and HTTP errors keep
// their meaning (23505 → 409, 40P01 → 503, a silent or unreachable endpoint → 503). The Workers'
// per-request services use it: a read-only request opens no WebSocket (PostgreSQL only).
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendMessage } from "../../functions/conversations/messages.service";
import { atomically } from "../../lib/db";
import { neonEdgeDatabase, useLocalHttpProxy } from "../../lib/db-neon";
import type { Env } from "../../lib/env";
import { isDependencyFailure, transactionConflict, uniqueViolation } from "../../lib/errors";
import { memoryKv } from "../../lib/kv";
import { createDispatch } from "../../lib/local/dispatch";
import { type NeonHttpProxy, pgliteTarget, startNeonHttpProxy } from "../../lib/local/neon-http-proxy";
import { startWsProxy, type WsProxy } from "../../lib/local/ws-proxy";
import { useNodeWebSockets } from "../../lib/local/neon-node";
import type { ServiceProvider } from "../../lib/services";
import { workerServices } from "../../lib/worker";
import { conversations, messages } from "../../schema";
import { BASE, unique } from "../support/harness";

const DATABASE_URL = process.env.DATABASE_URL;
const url = DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/pglite";

let http: NeonHttpProxy;
let ws: WsProxy | undefined;
let closePglite: (() => Promise<void>) | undefined;
const table = `neon_edge_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

beforeAll(async () => {
  if (DATABASE_URL) {
    useNodeWebSockets();
    ws = await startWsProxy();
    http = await startNeonHttpProxy();
  } else {
    const { PGlite } = await import("@electric-sql/pglite");
    const db = new PGlite();
    closePglite = () => db.close();
    http = await startNeonHttpProxy({ target: pgliteTarget(db) });
  }
  useLocalHttpProxy(http.address);
  const { db } = neonEdgeDatabase(url);
  await db.execute(sql.raw(`create table ${table} (id int primary key, note text not null, at timestamptz not null default now())`));
});

afterAll(async () => {
  useLocalHttpProxy(http.address);
  await neonEdgeDatabase(url)
    .db.execute(sql.raw(`drop table if exists ${table}`))
    .catch(() => undefined);
  await http.close();
  await ws?.close();
  await closePglite?.();
});

describe("drizzle over Neon's HTTP transport", () => {
  it("runs each statement as one fetch, without opening a WebSocket Pool", async () => {
    const edge = neonEdgeDatabase(url);
    const before = { ...http.stats };
    await edge.db.execute(sql`insert into ${sql.raw(table)} (id, note) values (${1}, ${"one"}), (${2}, ${"two"})`);
    const r = await edge.db.execute(sql`select id, note, at from ${sql.raw(table)} where id <= ${2} order by id`);
    const rows = (r as unknown as { rows: Array<{ id: number; note: string; at: string }> }).rows;
    expect(rows.map((x) => [x.id, x.note])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    // Timestamps stay strings for drizzle to map, as over the Pool.
    expect(typeof rows[0]!.at).toBe("string");
    expect(http.stats.fetches - before.fetches).toBe(2);
    expect(edge.poolOpened).toBe(false);
    await edge.close();
  });

  it("atomically: statements that read nothing in between as one batch, one fetch, rolled back whole", async () => {
    const edge = neonEdgeDatabase(url);
    const before = http.stats.fetches;
    const out = await atomically(edge.db, (q) => [
      q.execute(sql`insert into ${sql.raw(table)} (id, note) values (${10}, ${"ten"}) returning id`),
      q.execute(sql`insert into ${sql.raw(table)} (id, note) values (${11}, ${"eleven"})`),
    ]);
    expect(out).toHaveLength(2);
    expect(http.stats.fetches - before).toBe(1);
    const failed = await atomically(edge.db, (q) => [
      q.execute(sql`insert into ${sql.raw(table)} (id, note) values (${12}, ${"twelve"})`),
      q.execute(sql`insert into ${sql.raw(table)} (id, note) values (${10}, ${"dup"})`),
    ]).catch((e: unknown) => e);
    expect(uniqueViolation(failed)).toBeTruthy();
    const r = await edge.db.execute(sql`select id from ${sql.raw(table)} where id >= ${10} order by id`);
    expect((r as unknown as { rows: Array<{ id: number }> }).rows.map((x) => x.id)).toEqual([10, 11]);
    expect(edge.poolOpened).toBe(false);
  });

  it("answers errors with their SQLSTATE through drizzle's wrapping (409 and 503 mappings)", async () => {
    const { db } = neonEdgeDatabase(url);
    const dup = await db.execute(sql`insert into ${sql.raw(table)} (id, note) values (${1}, ${"again"})`).catch((e: unknown) => e);
    expect(uniqueViolation(dup)).toEqual({ constraint: `${table}_pkey` });
    expect(isDependencyFailure(dup)).toBe(false);
    const conflict = await db.execute(sql.raw("do $$ begin raise exception 'deadlock detected' using errcode = '40P01'; end $$")).catch((e: unknown) => e);
    expect(transactionConflict(conflict)).toBe("40P01");
  });

  it("a database that does not answer within DB_QUERY_TIMEOUT_MS is a dependency failure (503), not a hang", async () => {
    const { db } = neonEdgeDatabase(url, { timeouts: { connectMs: 300, queryMs: 300 } });
    http.delayMs = 2_000;
    const started = performance.now();
    try {
      const err = await db.execute(sql`select 1`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isDependencyFailure(err)).toBe(true);
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      http.delayMs = 0;
    }
  });

  it("an endpoint answering 5xx is a dependency failure (503)", async () => {
    const { createServer } = await import("node:http");
    const bad = createServer((_req, res) => res.writeHead(502).end("upstream unavailable"));
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    useLocalHttpProxy(`127.0.0.1:${(bad.address() as { port: number }).port}`);
    try {
      const err = await neonEdgeDatabase(url)
        .db.execute(sql`select 1`)
        .catch((e: unknown) => e);
      expect(String((err as { cause?: unknown }).cause)).toMatch(/HTTP status 502/);
      expect(isDependencyFailure(err)).toBe(true);
    } finally {
      useLocalHttpProxy(http.address);
      bad.close();
    }
  });

  it("an unreachable endpoint is a dependency failure (503)", async () => {
    useLocalHttpProxy("127.0.0.1:9");
    try {
      const err = await neonEdgeDatabase(url)
        .db.execute(sql`select 1`)
        .catch((e: unknown) => e);
      expect(isDependencyFailure(err)).toBe(true);
    } finally {
      useLocalHttpProxy(http.address);
    }
  });
});

describe.skipIf(!DATABASE_URL)("Workers' per-request database (PostgreSQL)", () => {
  const env = (): Env => ({
    DATABASE_URL,
    NEON_WS_PROXY: ws!.address,
    NEON_HTTP_PROXY: http.address,
    JWT_SECRET: "j".repeat(40),
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "unused",
    RATE_LIMIT_PER_MINUTE: "100000",
  });
  const kv = memoryKv();
  const dispatchFor = (e: Env) => {
    const worker = workerServices();
    const provider: ServiceProvider = (ctx) => new Proxy(worker(ctx), { get: (t, k, r) => (k === "kv" ? kv : Reflect.get(t, k, r)) });
    return createDispatch(provider, e);
  };
  const call = async (e: Env, method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const before = { fetches: http.stats.fetches, connections: ws!.stats.connections };
    const res = await dispatchFor(e)(new Request(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    // Counted when the response is there (what runs after it, such as event fan-out, is not).
    const counted = { fetches: http.stats.fetches - before.fetches, connections: ws!.stats.connections - before.connections };
    const json = (await res.json()) as any;
    return { status: res.status, body: json, ...counted };
  };

  it("a read-only request goes over HTTP and opens no WebSocket; a transaction opens one", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    expect(signUp.status).toBe(201);
    expect(signUp.connections).toBeLessThanOrEqual(1);
    const token: string = signUp.body.access_token;
    const list = await call(env(), "GET", "/v1/conversations", undefined, token);
    expect(list.status).toBe(200);
    expect(list.connections).toBe(0);
    expect(list.fetches).toBeGreaterThan(0);
    // The same request with NEON_HTTP=off (every statement over the Pool, as before): WebSockets, no fetch.
    const pooled = await call({ ...env(), NEON_HTTP: "off" }, "GET", "/v1/conversations", undefined, token);
    expect(pooled.status).toBe(200);
    expect(pooled.connections).toBeGreaterThanOrEqual(1);
    expect(pooled.fetches).toBe(0);
  });

  it("GET /v1/conversations/{id} reads the row, its tags and attachments in one round trip", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const token: string = signUp.body.access_token;
    const conv = await call(env(), "POST", "/v1/conversations", { title: "One trip", source: "api" }, token);
    expect(conv.status).toBe(201);
    await new Promise((r) => setTimeout(r, 200));
    // Every fetch waits 150 ms: two rounds (the row, then tags and attachments) would take 300 ms or more.
    http.delayMs = 150;
    try {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const r = await call(env(), "GET", `/v1/conversations/${conv.body.id}`, undefined, token);
        times.push(performance.now() - started);
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({ id: conv.body.id, tags: [], attachments: [], contact: null });
      }
      expect(Math.min(...times)).toBeLessThan(290);
    } finally {
      http.delayMs = 0;
    }
    // Another workspace's conversation is still simply not found.
    const other = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    expect((await call(env(), "GET", `/v1/conversations/${conv.body.id}`, undefined, other.body.access_token)).status).toBe(404);
  });

  it("POST /v1/conversations without content writes in one batch: no WebSocket, the row and its event", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const token: string = signUp.body.access_token;
    await new Promise((r) => setTimeout(r, 200));
    const created = await call(env(), "POST", "/v1/conversations", { title: "Batched", source: "api" }, token);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: "Batched", status: "open" });
    expect(created.connections).toBe(0);
    // The credential's lookup, and the two inserts as one batch.
    expect(created.fetches).toBeLessThanOrEqual(2);
    const { db, close } = neonEdgeDatabase(DATABASE_URL!);
    const r = await db.execute(sql`select type, entity_id from events where entity_id = ${created.body.id}`);
    expect((r as unknown as { rows: unknown[] }).rows).toEqual([{ type: "conversation.created", entity_id: created.body.id }]);
    await close();
    const got = await call(env(), "GET", `/v1/conversations/${created.body.id}`, undefined, token);
    expect(got.status).toBe(200);
  });

  it("POST /v1/conversations looks its references up at once (one round trip for contact and session)", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const token: string = signUp.body.access_token;
    const contact = await call(env(), "POST", "/v1/contacts", { name: "Ada", email: `${unique("ada")}@customer.example` }, token);
    const session = await call(env(), "POST", "/v1/sessions", { contact_id: contact.body.id }, token);
    expect([contact.status, session.status]).toEqual([201, 201]);
    await new Promise((r) => setTimeout(r, 200));
    const body = { title: "Refs", source: "api", contact_id: contact.body.id, session_id: session.body.id };
    // Every fetch waits 150 ms: two lookups one after the other and the batch would take 450 ms or more.
    http.delayMs = 150;
    try {
      const times: number[] = [];
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        const r = await call(env(), "POST", "/v1/conversations", body, token);
        times.push(performance.now() - started);
        expect(r.status).toBe(201);
        expect(r.body).toMatchObject({ contact_id: contact.body.id, session_id: session.body.id });
      }
      expect(Math.min(...times)).toBeLessThan(430);
    } finally {
      http.delayMs = 0;
    }
    // Another workspace's references are still unknown: 422 naming the field, checked in the same order.
    const other = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const refused = await call(env(), "POST", "/v1/conversations", body, other.body.access_token);
    expect(refused.status).toBe(422);
    expect(Object.keys(refused.body.error.details.fields)).toEqual(["contact_id"]);
  });

  it("POST /v1/conversations/{id}/messages writes in one batch: no WebSocket; a deleted conversation is 404 with nothing written", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const token: string = signUp.body.access_token;
    const conv = await call(env(), "POST", "/v1/conversations", { title: "Thread", source: "api" }, token);
    await new Promise((r) => setTimeout(r, 200));
    const sent = await call(env(), "POST", `/v1/conversations/${conv.body.id}/messages`, { content: "Hello", sender_type: "contact" }, token);
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ conversation_id: conv.body.id, sender_type: "contact", content: "Hello", status: "complete", attachment_ids: [] });
    expect(sent.connections).toBe(0);
    // The credential's lookup, the conversation's, and the counters, message and event as one batch.
    expect(sent.fetches).toBeLessThanOrEqual(3);
    const got = await call(env(), "GET", `/v1/conversations/${conv.body.id}`, undefined, token);
    expect(got.body).toMatchObject({ message_count: 1, unread_count: 1, last_message_at: sent.body.created_at });
    const edge = neonEdgeDatabase(DATABASE_URL!);
    const ev = await edge.db.execute(sql`select type, data from events where entity_id = ${sent.body.id}`);
    expect((ev as unknown as { rows: unknown[] }).rows).toEqual([{ type: "message.created", data: { conversation_id: conv.body.id, sender_type: "contact" } }]);
    // A conversation deleted between the route's read and the write: the batch rolls back whole.
    const [row] = await edge.db.select().from(conversations).where(eq(conversations.id, conv.body.id));
    expect((await call(env(), "DELETE", `/v1/conversations/${conv.body.id}`, undefined, token)).status).toBe(200);
    const err = await sendMessage(edge.db, row!, { content: "too late", sender_type: "contact" }, { actor: "test" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "not_found" });
    expect(edge.poolOpened).toBe(false);
    const left = await edge.db.execute(sql`select count(*)::int as n from events where workspace_id = ${row!.workspaceId} and type = 'message.created'`);
    expect((left as unknown as { rows: unknown[] }).rows).toEqual([{ n: 1 }]);
    expect(await edge.db.select().from(messages).where(eq(messages.conversationId, conv.body.id))).toEqual([]);
    await edge.close();
  });

  it("POST /v1/contacts writes the row and its event in one statement (no WebSocket); a duplicate is the same 409", async () => {
    const signUp = await call(env(), "POST", "/v1/workspaces", { name: unique("ws"), owner: { name: "O", email: `${unique("o")}@example.com`, password: "s3cret-password" } });
    const token: string = signUp.body.access_token;
    await new Promise((r) => setTimeout(r, 200));
    const email = `${unique("ada")}@customer.example`;
    const created = await call(env(), "POST", "/v1/contacts", { name: "Ada", email, phone: "+1 415 555 0100" }, token);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "Ada", email, phone: "+14155550100", tags: [] });
    expect(created.connections).toBe(0);
    // The credential's lookup and the insert with its event.
    expect(created.fetches).toBeLessThanOrEqual(2);
    const { db, close } = neonEdgeDatabase(DATABASE_URL!);
    const r = await db.execute(sql`select type, data from events where entity_id = ${created.body.id}`);
    const { tags: _, ...contact } = created.body;
    expect((r as unknown as { rows: unknown[] }).rows).toEqual([{ type: "contact.created", data: { contact } }]);
    await close();
    const dup = await call(env(), "POST", "/v1/contacts", { email: email.toUpperCase(), phone: "+14155550100" }, token);
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: "conflict", details: { existing_contact_id: created.body.id, fields: { email: expect.any(Array), phone: expect.any(Array) } } });
    expect(dup.connections).toBe(0);
  });

  it("a duplicate over HTTP is still 409 conflict", async () => {
    const email = `${unique("dup")}@example.com`;
    const body = { name: unique("ws"), owner: { name: "O", email, password: "s3cret-password" } };
    expect((await call(env(), "POST", "/v1/workspaces", body)).status).toBe(201);
    const again = await call(env(), "POST", "/v1/workspaces", { ...body, name: unique("ws") });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("conflict");
  });
});
