// A WebSocket→TCP proxy speaking the protocol of Neon's wsproxy, so the Neon serverless
// driver (the production code path) can reach the PostgreSQL running on this machine.
// It only forwards to loopback addresses.
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export interface WsProxyStats {
  /** WebSocket connections opened (each is TCP, TLS, upgrade, startup and auth on Neon). */
  connections: number;
  /** Frames the client sent (the driver sends a statement's messages as one frame). */
  messages: number;
}

export interface WsProxy {
  /** `host:port`, what `NEON_WS_PROXY` takes. */
  address: string;
  stats: WsProxyStats;
  /** Simulated network delay (milliseconds) before the upgrade and before each client frame goes on. */
  delayMs: number;
  close(): Promise<void>;
}

/**
 * `delayMs` (default NEON_PROXY_DELAY_MS) simulates the network between the edge and the database:
 * the upgrade and every frame the client sends wait that long (one round trip each, counting the
 * answer's way back as free), in order.
 */
export async function startWsProxy(port = 0, opts: { delayMs?: number } = {}): Promise<WsProxy> {
  const stats: WsProxyStats = { connections: 0, messages: 0 };
  const server: Server = createServer((_req, res) => {
    res.writeHead(426).end("WebSocket only");
  });
  const wss = new WebSocketServer({ server });
  server.removeAllListeners("upgrade");
  server.on("upgrade", (req, socket, head) => {
    stats.connections++;
    const go = () => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
    if (proxy.delayMs > 0) setTimeout(go, proxy.delayMs);
    else go();
  });
  wss.on("connection", (ws, req) => {
    const target = new URL(req.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const idx = target.lastIndexOf(":");
    const host = target.slice(0, idx).replace(/^\[|\]$/g, "");
    const tport = Number(target.slice(idx + 1));
    if (!LOOPBACK.has(host) || !Number.isInteger(tport)) {
      ws.close(1008, "only loopback targets");
      return;
    }
    const socket = connect(tport, host);
    socket.setNoDelay(true);
    const pending: Buffer[] = [];
    let connected = false;
    socket.on("connect", () => {
      connected = true;
      for (const b of pending.splice(0)) socket.write(b);
    });
    socket.on("data", (data) => ws.readyState === ws.OPEN && ws.send(data));
    socket.on("close", () => ws.close());
    socket.on("error", () => ws.close());
    const forward = (data: Buffer) => (connected ? socket.write(data) : pending.push(data));
    ws.on("message", (data: Buffer) => {
      stats.messages++;
      // Timers of equal delay fire in the order they were set: frames stay in order.
      if (proxy.delayMs > 0) setTimeout(() => forward(data), proxy.delayMs);
      else forward(data);
    });
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: actual } = server.address() as AddressInfo;
  const proxy: WsProxy = {
    address: `127.0.0.1:${actual}`,
    stats,
    delayMs: opts.delayMs ?? Math.max(Number(process.env.NEON_PROXY_DELAY_MS) || 0, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
