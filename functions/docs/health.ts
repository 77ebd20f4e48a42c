// The dependency checks behind /healthz: the database must answer `select 1` (else 503);
// Redis is reported but not required, because the API degrades without it (rate limits fail open).
import { sql } from "drizzle-orm";
import { describeError } from "../../lib/errors";
import type { Services } from "../../lib/services";

export const DB_TIMEOUT_MS = 5_000;
export const REDIS_TIMEOUT_MS = 2_000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface HealthReport {
  database: "ok" | "unavailable";
  redis: "ok" | "unavailable";
  /** Why the database check failed, for the logs only (never sent to the client). */
  databaseError?: string;
}

export async function checkHealth(services: Services): Promise<HealthReport> {
  const [database, redis] = await Promise.all([
    (async () => {
      try {
        // Reading `services.db` opens the connection: inside the try, so that fails as "unavailable" too.
        await within(Promise.resolve().then(() => services.db.execute(sql`select 1`)), DB_TIMEOUT_MS);
        return { ok: true as const };
      } catch (err) {
        return { ok: false as const, error: describeError(err) };
      }
    })(),
    (async () => {
      try {
        await within(Promise.resolve().then(() => services.kv.get("parley:healthz")), REDIS_TIMEOUT_MS);
        return true;
      } catch {
        return false;
      }
    })(),
  ]);
  return {
    database: database.ok ? "ok" : "unavailable",
    redis: redis ? "ok" : "unavailable",
    ...(database.ok ? {} : { databaseError: database.error }),
  };
}
