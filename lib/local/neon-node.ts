// The Neon serverless driver under Node (local server, tests, benchmarks): `ws` as its
// WebSocket, and a query's protocol messages coalesced into one frame per microtask.
// The driver coalesces them itself with setTimeout(0), which fires at once on Workers but
// waits at least 1 ms in Node: measured on loopback, a `select 1` round trip took 1.69 ms
// with the driver's coalescing and 0.47 ms with this one.
import { neonConfig } from "@neondatabase/serverless";
import WebSocket from "ws";

class CoalescingWebSocket extends WebSocket {
  private queued: Buffer[] = [];

  override send(data: unknown, ...rest: unknown[]): void {
    if (rest.length || !(data instanceof Uint8Array || typeof data === "string")) {
      (super.send as (...a: unknown[]) => void)(data, ...rest);
      return;
    }
    if (this.queued.push(Buffer.from(data)) > 1) return;
    queueMicrotask(() => {
      const frame = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
      this.queued = [];
      if (this.readyState === WebSocket.OPEN) super.send(frame);
    });
  }
}

export function useNodeWebSockets(): void {
  neonConfig.webSocketConstructor = CoalescingWebSocket as unknown as typeof neonConfig.webSocketConstructor;
  neonConfig.coalesceWrites = false;
}
