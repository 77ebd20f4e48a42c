// A local server speaking Upstash Redis's REST protocol (`/`, `/pipeline`, `/multi-exec`,
// base64-encoded replies) in front of a real redis-server, so the real `@upstash/redis`
// client runs against real Redis on this machine.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

export interface UpstashRestServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

type Reply = string | number | null | Reply[];

function encode(v: unknown, base64: boolean): Reply {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (Array.isArray(v)) return v.map((x) => encode(x, base64));
  // ioredis turns HGETALL's flat reply into an object; Upstash answers the flat array.
  if (typeof v === "object" && !Buffer.isBuffer(v)) return Object.entries(v).flatMap(([k, x]) => [encode(k, base64), encode(x, base64)]);
  const s = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
  if (!base64) return s.toString("utf8");
  return s.toString() === "OK" ? "OK" : s.toString("base64");
}

export async function startUpstashRest(redisUrl: string, opts: { token?: string; port?: number } = {}): Promise<UpstashRestServer> {
  const redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  redis.on("error", () => {});
  const token = opts.token ?? `local_${Math.random().toString(36).slice(2)}`;

  const run = async (cmd: unknown, base64: boolean) => {
    if (!Array.isArray(cmd) || cmd.length === 0) return { error: "ERR command must be a non-empty array" };
    const [name, ...args] = cmd.map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
    try {
      const result = await redis.callBuffer(String(name), ...args.map(String));
      return { result: encode(result, base64) };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };

  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "Unauthorized" });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(400, { error: "ERR body is not JSON" });
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(body)) return send(400, { error: "ERR pipeline body must be an array of commands" });
      if (path === "/multi-exec") {
        const multi = redis.multi();
        for (const cmd of body as unknown[][]) multi.callBuffer(String(cmd[0]), ...cmd.slice(1).map(String));
        const results = (await multi.exec()) ?? [];
        return send(200, results.map(([err, r]) => (err ? { error: err.message } : { result: encode(r, base64) })));
      }
      const out = [];
      for (const cmd of body) out.push(await run(cmd, base64));
      return send(200, out);
    }
    // Single command: either the JSON body, or the path segments (`/get/key`).
    const cmd = Array.isArray(body) ? body : path.split("/").filter(Boolean).map(decodeURIComponent);
    const r = await run(cmd, base64);
    return send("error" in r ? 400 : 200, r);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
