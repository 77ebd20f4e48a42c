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
