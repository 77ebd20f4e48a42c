// The local server: one Node process that serves every function by the registry, on the
// embedded default services (or real ones when their variables are set).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { SCHEDULES } from "../../functions/jobs/schedules";
import type { Env } from "../env";
import { createDispatch } from "./dispatch";
import { createLocalServices, type LocalOptions, type LocalServices } from "./services";

export interface LocalServer {
  url: string;
  port: number;
  services: LocalServices;
  close(): Promise<void>;
}

export async function startServer(opts: LocalOptions & { port?: number; host?: string; extraRoutes?: (req: Request) => Promise<Response> | null }): Promise<LocalServer> {
  // Jobs reach this server over HTTP, as QStash reaches the Workers; delivery starts once it listens.
  const services = await createLocalServices({ ...opts, jobDelivery: "http" });
  const env: Env = { ...(opts.env ?? {}) };
  const dispatch = createDispatch(services.provider, env);
  // The caller's address, for anonymous rate limits: the socket's, as Cloudflare's edge gives
  // Workers CF-Connecting-IP; behind a reverse proxy (TRUST_PROXY=1), X-Forwarded-For's first entry.
  const trustProxy = env.TRUST_PROXY === "1";
  const listener = getRequestListener(async (req, { incoming }) => {
    const forwarded = trustProxy ? incoming.headers["x-forwarded-for"] : undefined;
    const client = (typeof forwarded === "string" && forwarded.split(",")[0]?.trim()) || incoming.socket.remoteAddress || "local";
    return opts.extraRoutes ? ((await opts.extraRoutes(req)) ?? dispatch(req, client)) : dispatch(req, client);
  });
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8787, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // PUBLIC_BASE_URL, locally: this server's own URL (unless set), so QStash calls us back here.
  if (!opts.env?.PUBLIC_BASE_URL) services.config.publicBaseUrl = url;
  // Others on the same DATA_DIR (npm run seed) find this server here.
  services.dataDirLock?.announce(url);
  services.qstash?.resume();
  // Cron schedules are registered on every start (idempotent), as `npm run schedules:sync` does in production.
  if (services.qstash) await services.queue.syncSchedules(SCHEDULES);
  return {
    url,
    port,
    services,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.close();
    },
  };
}
