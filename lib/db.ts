// The database type every handler sees. Production uses drizzle over the Neon serverless
// driver (a Pool per request); the embedded default uses PGlite; both are Postgres.
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "../schema";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** Either the database or an open transaction: service functions accept both. */
export type Db = Database | Tx;

/** The rows of a raw `db.execute(…)`, from either driver (Neon's QueryResult or PGlite's result). */
export function rowsOf<T>(r: unknown): T[] {
  return (Array.isArray(r) ? r : ((r as { rows?: T[] }).rows ?? [])) as T[];
}

/**
 * Runs statements that do not read each other's results in one transaction. Over Neon's HTTP
 * transport that is `db.batch`: the whole transaction in one fetch, no WebSocket. Elsewhere
 * (PGlite, the Pool, an open transaction) a transaction running them in order. `build` makes the
 * statements on what it is given (the database, or the transaction); the results come back in order.
 */
export async function atomically(db: Db, build: (q: Db) => ReadonlyArray<PromiseLike<unknown>>): Promise<unknown[]> {
  const batch = (db as { batch?: (queries: ReadonlyArray<PromiseLike<unknown>>) => Promise<unknown[]> }).batch;
  if (typeof batch === "function") return batch.call(db, build(db));
  return db.transaction(async (tx) => {
    const out: unknown[] = [];
    for (const q of build(tx)) out.push(await q);
    return out;
  });
}
