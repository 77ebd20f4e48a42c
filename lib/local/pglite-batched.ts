// PGlite (the embedded default's database) with each parameterised query sent to Postgres in
// ONE protocol call instead of six. PGlite's own `query` sends Parse, Describe (to learn the
// parameter types), Bind, Describe, Execute and Sync as six separate calls into the
// WebAssembly backend, each with its own JavaScript round of awaits and result handling. In an
// A/B of the chat (bench/chat-ab.ts) this file took 0.2–0.3 ms off storing the user message.
// Here the parameter types of a statement are
// learnt once (one Parse + Describe call, kept per statement text) and every execution is one
// call: Parse, Bind, Describe, Execute, Sync. Values are serialised, results parsed and errors
// decorated as PGlite does (its own serializers and parsers); locking is PGlite's too (a query
// outside a transaction waits for any open one). The rows are parsed here, not by PGlite's
// parseResults, which copies all ~320 of its type parsers into a new object whenever a query
// brings parsers of its own, as every drizzle query does (~80 µs a query, measured).
// drizzle uses only `query` and `transaction`, which are the two methods replaced here.
import { type PGlite, parse, protocol, type QueryOptions, type Results, type Transaction, types as pgTypes } from "@electric-sql/pglite";

/** Distinct statement texts whose parameter types are kept (drizzle's statements are parameterised, so few). */
const MAX_STATEMENTS = 2_000;

type Internals = PGlite & {
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
};

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Parser = (value: string, typeId: number) => unknown;
type Message = { name: string };
type RowDescription = Message & { fields: Array<{ name: string; dataTypeID: number }> };
type DataRow = Message & { fields: Array<string | null> };
type CommandComplete = Message & { text: string };

/** The result of one statement's messages, as PGlite's parseResults builds it (without a blob). */
function toResults<T>(messages: Message[], defaults: Record<number, Parser>, options: QueryOptions | undefined): Results<T> {
  const own = options?.parsers as Record<number, Parser> | undefined;
  const builtIn = pgTypes.parsers as Record<number, Parser>;
  const asArray = options?.rowMode === "array";
  let fields: Array<{ name: string; dataTypeID: number }> = [];
  let parsers: Array<Parser | undefined> = [];
  const rows: unknown[] = [];
  for (const m of messages) {
    if (m.name === "rowDescription") {
      fields = (m as RowDescription).fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
      parsers = fields.map((f) => own?.[f.dataTypeID] ?? defaults[f.dataTypeID] ?? builtIn[f.dataTypeID]);
    } else if (m.name === "dataRow") {
      const values = (m as DataRow).fields.map((v, i) => {
        if (v === null) return null;
        const parser = parsers[i];
        return parser ? parser(v, fields[i]!.dataTypeID) : v;
      });
      rows.push(asArray ? values : Object.fromEntries(values.map((v, i) => [fields[i]!.name, v])));
    } else if (m.name === "commandComplete") {
      const words = (m as CommandComplete).text.split(" ");
      const command = words[0]!;
      const count = Number.parseInt(words[words.length - 1]!, 10);
      const affectedRows = ["INSERT", "UPDATE", "DELETE", "COPY", "MERGE"].includes(command) ? count : 0;
      return { rows, fields, command, affectedRows, ...(Number.isNaN(count) ? {} : { rowCount: count }) } as unknown as Results<T>;
    }
  }
  return { affectedRows: 0, rows: [], fields: [] } as unknown as Results<T>;
}

/** PGlite's decoration of a failed query's error (its `query`, `params`, `queryOptions`). */
function decorate(err: unknown, query: string, params: unknown[], options: QueryOptions | undefined): unknown {
  if (err && typeof err === "object" && "severity" in err) Object.assign(err, { query, params, queryOptions: options });
  return err;
}

export function batchQueries(client: PGlite): PGlite {
  const pg = client as Internals;
  const paramTypes = new Map<string, number[]>();
  const serialize = protocol.serialize;

  async function typesOf(text: string, options: QueryOptions | undefined): Promise<number[]> {
    const key = options?.paramTypes ? `${options.paramTypes.join(",")}\u0000${text}` : text;
    const known = paramTypes.get(key);
    if (known) return known;
    const messages = await pg.execProtocolStream(concat([serialize.parse({ text, types: options?.paramTypes }), serialize.describe({ type: "S" }), serialize.sync()]), {
      syncToFs: false,
      onNotice: options?.onNotice,
    });
    const types = parse.parseDescribeStatementResults(messages);
    if (paramTypes.size >= MAX_STATEMENTS) paramTypes.delete(paramTypes.keys().next().value!);
    paramTypes.set(key, types);
    return types;
  }

  const ready = () => (pg as unknown as { _checkReady(): Promise<void> })._checkReady();

  /** One query on the connection; the caller holds PGlite's query lock. */
  async function run<T>(text: string, params: unknown[], options: QueryOptions | undefined, inTransaction: boolean): Promise<Results<T>> {
    try {
      const types = await typesOf(text, options);
      const values = params.map((v, i) => {
        if (v == null) return null;
        const type = types[i]!;
        const s = options?.serializers?.[type] ?? pg.serializers[type];
        return s ? s(v) : String(v);
      });
      const messages = await pg.execProtocolStream(
        concat([
          serialize.parse({ text, types: options?.paramTypes }),
          serialize.bind({ values }),
          serialize.describe({ type: "P" }),
          serialize.execute({}),
          serialize.sync(),
        ]),
        { syncToFs: false, onNotice: options?.onNotice },
      );
      if (!inTransaction) await pg.syncToFs();
      return toResults<T>(messages, pg.parsers as Record<number, Parser>, options);
    } catch (err) {
      throw decorate(err, text, params, options);
    }
  }

  const original = { query: client.query.bind(client), transaction: client.transaction.bind(client) };
  const needsOriginal = (options: QueryOptions | undefined) => Boolean(options?.blob);

  client.query = (<T>(text: string, params: unknown[] = [], options?: QueryOptions) => {
    if (needsOriginal(options)) return original.query<T>(text, params, options);
    return ready().then(() => pg._runExclusiveTransaction(() => pg._runExclusiveQuery(() => run<T>(text, params, options, false))));
  }) as PGlite["query"];

  client.transaction = (<T>(callback: (tx: Transaction) => Promise<T>) =>
    original.transaction((tx) => {
      const query = <R>(text: string, params: unknown[] = [], options?: QueryOptions): Promise<Results<R>> => {
        if (tx.closed) return Promise.reject(new Error("Transaction is closed"));
        if (needsOriginal(options)) return tx.query<R>(text, params, options);
        return pg._runExclusiveQuery(() => run<R>(text, params, options, true));
      };
      return callback(new Proxy(tx, { get: (target, key) => (key === "query" ? query : Reflect.get(target, key)) }));
    })) as PGlite["transaction"];

  return client;
}
