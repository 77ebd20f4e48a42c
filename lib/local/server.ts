// The local server: one Node process that serves every function by the registry, on the
// embedded default services (or real ones when their variables are set).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
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
  const services = await createLocalServices(opts);
  const env: Env = { ...(opts.env ?? {}) };
  const dispatch = createDispatch(services.provider, env);
  const listener = getRequestListener(async (req) => (opts.extraRoutes ? ((await opts.extraRoutes(req)) ?? dispatch(req)) : dispatch(req)));
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8787, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    services,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await services.close();
    },
  };
}
