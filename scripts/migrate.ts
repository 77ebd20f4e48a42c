// `npm run db:migrate`: applies migrations/ to DATABASE_URL (PostgreSQL through the Neon driver
// and a local WebSocket proxy, the production code path), or to the PGlite database in
// DATA_DIR (default .data/) when DATABASE_URL is unset. Opening the local services migrates.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createLocalServices } from "../lib/local/services";

export async function migrateDatabase(env: { DATABASE_URL?: string; NEON_WS_PROXY?: string; DATA_DIR?: string }): Promise<string> {
  const dataDir = env.DATABASE_URL ? null : resolve(env.DATA_DIR ?? ".data");
  // Only the database: no Redis adapter is started for a migration.
  const services = await createLocalServices({ dataDir, env: { DATABASE_URL: env.DATABASE_URL, NEON_WS_PROXY: env.NEON_WS_PROXY } });
  await services.close();
  return services.describe.database;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = Date.now();
  try {
    const where = await migrateDatabase(process.env);
    console.log(`migrations applied to ${where} in ${Date.now() - started} ms`);
  } catch (err) {
    console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
