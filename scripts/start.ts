// `npm start`: the whole API on this machine, zero configuration.
import { resolve } from "node:path";
import { DataDirLockedError } from "../lib/local/data-dir-lock";
import { type LocalServer, startServer } from "../lib/local/server";

const env = process.env as Record<string, string | undefined>;
const port = Number(env.PORT ?? 8787);
const host = env.HOST ?? "127.0.0.1";
const dataDir = resolve(env.DATA_DIR ?? ".data");

let server: LocalServer;
try {
  server = await startServer({ port, host, dataDir, env, environment: "development" });
} catch (err) {
  // Another process holds DATA_DIR: say so plainly (no stack), and what to do.
  if (!(err instanceof DataDirLockedError)) throw err;
  console.error(err.message);
  process.exit(1);
}
const { database, redis, queue, whatsapp, mailgun } = server.services.describe;
console.log(`Parley is running at ${server.url}
  API       ${server.url}/v1
  Docs      ${server.url}/docs
  OpenAPI   ${server.url}/openapi.json
  Database  ${database}
  Redis     ${redis}
  Jobs      ${queue}, delivering to ${server.services.config.publicBaseUrl}/jobs/*
  WhatsApp  ${whatsapp}
  Mailgun   ${mailgun}
Press Ctrl+C to stop.`);

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
