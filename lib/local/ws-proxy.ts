// A WebSocket→TCP proxy speaking the protocol of Neon's wsproxy, so the Neon serverless
// driver (the production code path) can reach the PostgreSQL running on this machine.
// It only forwards to loopback addresses.
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export interface WsProxy {
  /** `host:port`, what `NEON_WS_PROXY` takes. */
  address: string;
  close(): Promise<void>;
}

export async function startWsProxy(port = 0): Promise<WsProxy> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(426).end("WebSocket only");
  });
  const wss = new WebSocketServer({ server });
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
    ws.on("message", (data: Buffer) => (connected ? socket.write(data) : pending.push(data)));
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
