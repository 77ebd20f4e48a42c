// A stand-in for Neon's HTTP query endpoint (`POST /sql`, what `neon()` from
// @neondatabase/serverless fetches), so the real HTTP client runs against the PostgreSQL on
// this machine (through the Neon Pool and the local WebSocket proxy) or against a PGlite.
// The protocol, as the driver (1.2) speaks it:
// - request headers: `Neon-Connection-String` (the database), `Neon-Raw-Text-Output: true` and
//   `Neon-Array-Mode: true` (rows as arrays of Postgres' text values; the client parses them), and
//   for a batch `Neon-Batch-Isolation-Level` (ReadUncommitted | ReadCommitted | RepeatableRead |
//   Serializable), `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`;
// - body `{ query, params }`, or `{ queries: [{ query, params }, …] }` for a batch, which runs in
//   one transaction (rolled back whole if a statement fails);
// - answer 200 `{ command, rowCount, rows, fields: [{ name, dataTypeID, … }], rowAsArray }`, or
//   `{ results: [ … ] }` for a batch; a database error is 400 `{ message, code, detail,
//   constraint, … }` (the client copies those fields onto its NeonDbError).
// Parameters arrive as text (the client's prepareValue) and are bound as parameters, never
// spliced into the SQL. Only loopback databases are served.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { Client, Pool } from "@neondatabase/serverless";
import { useNodeWebSockets } from "./neon-node";
import { startWsProxy, type WsProxy } from "./ws-proxy";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** The error fields a Neon HTTP error carries (the driver copies each onto NeonDbError). */
const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

const ISOLATION: Record<string, string> = {
  ReadUncommitted: "read uncommitted",
  ReadCommitted: "read committed",
  RepeatableRead: "repeatable read",
  Serializable: "serializable",
};

export interface HttpQuery {
  query: string;
  params: unknown[];
}

export interface QueryResult {
  command: string;
  rowCount: number | null;
  rows: Array<Array<string | null>>;
  fields: Array<{ name: string; dataTypeID: number }>;
}

export interface BatchOptions {
  isolationLevel?: string;
  readOnly?: boolean;
  deferrable?: boolean;
}

/** Where the stand-in runs statements: PostgreSQL (a Pool per connection string) or a PGlite. */
export interface SqlTarget {
  query(connectionString: string, q: HttpQuery): Promise<QueryResult>;
  batch(connectionString: string, qs: HttpQuery[], opts: BatchOptions): Promise<QueryResult[]>;
  close(): Promise<void>;
}

export interface NeonHttpProxyStats {
  /** POST /sql requests answered (each is one round trip of the HTTP transport). */
  fetches: number;
  /** Statements they carried (a batch counts each of its statements). */
  statements: number;
}

export interface NeonHttpProxy {
  /** `host:port`, what `NEON_HTTP_PROXY` takes. */
  address: string;
  /** The endpoint URL (`http://host:port/sql`). */
  url: string;
  stats: NeonHttpProxyStats;
  /** Simulated network delay per request (one round trip), in milliseconds. */
  delayMs: number;
  close(): Promise<void>;
}

function beginSql(opts: BatchOptions): string {
  let s = "begin";
  if (opts.isolationLevel) {
    const level = ISOLATION[opts.isolationLevel];
    if (!level) throw Object.assign(new Error(`unknown isolation level ${opts.isolationLevel}`), { code: "22023" });
    s += ` isolation level ${level}`;
  }
  if (opts.readOnly !== undefined) s += opts.readOnly ? " read only" : " read write";
  if (opts.deferrable !== undefined) s += opts.deferrable ? " deferrable" : " not deferrable";
  return s;
}

function checkParams(q: HttpQuery): HttpQuery {
  if (typeof q?.query !== "string") throw Object.assign(new Error("query must be a string"), { status: 400 });
  const params = q.params ?? [];
  if (!Array.isArray(params) || params.some((p) => p !== null && typeof p !== "string")) {
    throw Object.assign(new Error("params must be an array of strings and nulls"), { status: 400 });
  }
  return { query: q.query, params };
}

// Every type's text, unparsed: the client parses rows itself (Neon-Raw-Text-Output).
const RAW = { getTypeParser: () => (value: string) => value };

/**
 * A Neon Client that reaches PostgreSQL through `wsProxy`, set on the client itself (not on the
 * driver's global neonConfig, which the app's own Pool in the same process may point elsewhere).
 */
function clientVia(wsProxy: string): typeof Client {
  return class extends Client {
    constructor(config: ConstructorParameters<typeof Client>[0]) {
      super(config);
      const c = this.neonConfig;
      c.wsProxy = (host, port) => `${wsProxy}/v2?address=${host}:${port}`;
      c.useSecureWebSocket = false;
      c.pipelineTLS = false;
      c.pipelineConnect = false;
    }
  };
}

/** PostgreSQL through the Neon Pool (over a local WebSocket proxy), one Pool per connection string. */
export function postgresTarget(opts: { wsProxy: string; max?: number }): SqlTarget {
  useNodeWebSockets();
  const ClientVia = clientVia(opts.wsProxy);
  const pools = new Map<string, Pool>();
  const poolFor = (connectionString: string) => {
    const host = new URL(connectionString).hostname;
    if (!LOOPBACK.has(host)) throw Object.assign(new Error("the local Neon HTTP stand-in only serves loopback databases"), { status: 403 });
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new Pool({ connectionString, max: opts.max ?? 10 });
      (pool as unknown as { Client: typeof Client }).Client = ClientVia;
      pool.on("error", () => {});
      pools.set(connectionString, pool);
    }
    return pool;
  };
  type Queryable = { query(config: unknown): Promise<{ command: string; rowCount: number | null; rows: unknown[]; fields: Array<{ name: string; dataTypeID: number }> }> };
  const run = async (client: Queryable, q: HttpQuery): Promise<QueryResult> => {
    const r = await client.query({ text: q.query, values: q.params, rowMode: "array", types: RAW });
    return {
      command: r.command,
      rowCount: r.rowCount,
      rows: r.rows as QueryResult["rows"],
      fields: r.fields.map((f) => ({ ...f })),
    };
  };
  return {
    query: (cs, q) => run(poolFor(cs) as unknown as Queryable, q),
    async batch(cs, qs, bo) {
      const client = await poolFor(cs).connect();
      let broken = false;
      try {
        await client.query(beginSql(bo));
        const out: QueryResult[] = [];
        try {
          for (const q of qs) out.push(await run(client as unknown as Queryable, q));
          await client.query("commit");
        } catch (err) {
          await client.query("rollback").catch(() => {
            broken = true;
          });
          throw err;
        }
        return out;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end()));
      pools.clear();
    },
  };
}

/** A PGlite (whatever connection string the client names). Values go in and come out as text. */
export function pgliteTarget(db: PGlite): SqlTarget {
  const identity = (v: unknown) => v;
  // PGlite parses and serialises by type id, its array types included (registered once it has
  // started): identity for every type it knows, built again when it learns more.
  let known = -1;
  let raw: { parsers: Record<string, unknown>; serializers: Record<string, unknown> } = { parsers: {}, serializers: {} };
  const rawOptions = () => {
    const own = db as unknown as { parsers: Record<string, unknown>; serializers: Record<string, unknown> };
    const keys = [...new Set([...Object.keys(own.parsers ?? {}), ...Object.keys(own.serializers ?? {})])];
    if (keys.length !== known) {
      known = keys.length;
      const all = Object.fromEntries(keys.map((k) => [k, identity]));
      raw = { parsers: all, serializers: all };
    }
    return raw;
  };
  type Q = { query(sql: string, params: unknown[], o: unknown): Promise<{ rows: unknown[]; fields: Array<{ name: string; dataTypeID: number }>; affectedRows?: number }> };
  const run = async (client: Q, q: HttpQuery): Promise<QueryResult> => {
    const r = await client.query(q.query, q.params, { rowMode: "array", ...rawOptions() });
    const command = (/^\s*(\w+)/.exec(q.query)?.[1] ?? "").toUpperCase();
    const rowCount = command === "SELECT" ? r.rows.length : (r.affectedRows ?? r.rows.length);
    return { command, rowCount, rows: r.rows as QueryResult["rows"], fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })) };
  };
  return {
    query: (_cs, q) => run(db as unknown as Q, q),
    batch: (_cs, qs, bo) =>
      db.transaction(async (tx) => {
        const set = beginSql(bo).replace(/^begin/, "");
        if (set) await tx.exec(`set transaction${set}`);
        const out: QueryResult[] = [];
        for (const q of qs) out.push(await run(tx as unknown as Q, q));
        return out;
      }),
    close: async () => {},
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function errorBody(err: unknown): Record<string, unknown> {
  const e = (err ?? {}) as Record<string, unknown>;
  const body: Record<string, unknown> = { message: err instanceof Error ? err.message : String(err) };
  for (const f of ERROR_FIELDS) if (e[f] !== undefined && e[f] !== null) body[f] = typeof e[f] === "number" ? String(e[f]) : e[f];
  return body;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the stand-in on 127.0.0.1. `target` is where statements run; without one, PostgreSQL
 * through a WebSocket proxy (`wsProxy`, else one of its own started here). `delayMs` (default
 * NEON_PROXY_DELAY_MS) is added to every request: one simulated round trip to the database.
 */
export async function startNeonHttpProxy(opts: { port?: number; target?: SqlTarget; wsProxy?: string; delayMs?: number } = {}): Promise<NeonHttpProxy> {
  let ownWs: WsProxy | undefined;
  let target = opts.target;
  if (!target) {
    let ws = opts.wsProxy;
    if (!ws) {
      // Its own proxy, without the simulated delay: the stand-in plays Neon's side of the network.
      ownWs = await startWsProxy(0, { delayMs: 0 });
      ws = ownWs.address;
    }
    target = postgresTarget({ wsProxy: ws });
  }
  const t = target;
  const stats: NeonHttpProxyStats = { fetches: 0, statements: 0 };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "POST" || new URL(req.url ?? "/", "http://x").pathname !== "/sql") return send(404, { message: "POST /sql only" });
    stats.fetches++;
    if (proxy.delayMs > 0) await sleep(proxy.delayMs);
    const connectionString = req.headers["neon-connection-string"];
    if (typeof connectionString !== "string" || !connectionString) return send(400, { message: "missing Neon-Connection-String header" });
    if (req.headers["neon-raw-text-output"] !== "true" || req.headers["neon-array-mode"] !== "true") {
      return send(400, { message: "this stand-in answers only Neon-Raw-Text-Output: true and Neon-Array-Mode: true (what @neondatabase/serverless sends)" });
    }
    let body: { query?: string; params?: unknown[]; queries?: HttpQuery[] };
    try {
      body = (await readJson(req)) as typeof body;
    } catch {
      return send(400, { message: "request body is not JSON" });
    }
    try {
      if (Array.isArray(body.queries)) {
        const qs = body.queries.map(checkParams);
        stats.statements += qs.length;
        const header = (n: string) => (typeof req.headers[n] === "string" ? (req.headers[n] as string) : undefined);
        const bool = (v: string | undefined) => (v === undefined ? undefined : v === "true");
        const results = await t.batch(connectionString, qs, {
          isolationLevel: header("neon-batch-isolation-level"),
          readOnly: bool(header("neon-batch-read-only")),
          deferrable: bool(header("neon-batch-deferrable")),
        });
        return send(200, { results: results.map((r) => ({ ...r, rowAsArray: true })) });
      }
      const q = checkParams(body as HttpQuery);
      stats.statements++;
      return send(200, { ...(await t.query(connectionString, q)), rowAsArray: true });
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status && status !== 400) return send(status, { message: (err as Error).message });
      // A database error (or a connection failure, which carries no SQLSTATE): 400 with its fields, as Neon answers.
      return send(400, errorBody(err));
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: NeonHttpProxy = {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/sql`,
    stats,
    delayMs: opts.delayMs ?? Math.max(Number(process.env.NEON_PROXY_DELAY_MS) || 0, 0),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
      await ownWs?.close();
    },
  };
  return proxy;
}
