// The Upstash REST client the Workers use (lib/redis-rest.ts behind lib/kv.ts's upstashKv): what
// it sends is Upstash's documented protocol (POST a JSON command array to the base URL, arrays of
// them to /pipeline, a Bearer token), and what it does with Upstash's answers and failures.
// The same Kv runs against real Redis (through lib/local/upstash-rest.ts) whenever REDIS_URL is set.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { isDependencyFailure } from "../../lib/errors";
import { upstashKv } from "../../lib/kv";

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  encoding: string | undefined;
  body: unknown;
}

/** A stand-in Upstash endpoint: answers each request with what `reply` returns, records them all. */
async function fakeUpstash(reply: (seen: Seen, n: number) => { status?: number; body: unknown } | "reset") {
  const seen: Seen[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const s: Seen = {
      method: req.method ?? "",
      path: req.url ?? "",
      auth: req.headers.authorization,
      encoding: req.headers["upstash-encoding"] as string | undefined,
      body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"),
    };
    seen.push(s);
    const r = reply(s, seen.length);
    if (r === "reset") return void req.socket.destroy();
    res.writeHead(r.status ?? 200, { "content-type": "application/json" }).end(JSON.stringify(r.body));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

const servers: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));
async function kvOn(reply: Parameters<typeof fakeUpstash>[0]) {
  const up = await fakeUpstash(reply);
  servers.push(up);
  return { up, kv: upstashKv(`${up.url}/`, "tok_123", { timeoutMs: 1_000 }) };
}

describe("upstashKv speaks Upstash's REST protocol", () => {
  it("sends a command as a JSON array to the base URL with the Bearer token, and reads `result`", async () => {
    const { up, kv } = await kvOn((s) => ({ body: { result: (s.body as string[])[0] === "get" ? "hello" : "OK" } }));
    expect(await kv.get("k1")).toBe("hello");
    expect(await kv.set("k2", '{"a":1}', { ex: 60, nx: true })).toBe(true);
    expect(up.seen).toEqual([
      { method: "POST", path: "/", auth: "Bearer tok_123", encoding: undefined, body: ["get", "k1"] },
      { method: "POST", path: "/", auth: "Bearer tok_123", encoding: undefined, body: ["set", "k2", '{"a":1}', "ex", "60", "nx"] },
    ]);
  });

  it("reads SET NX's null as not set, and numbers and flat hashes as Redis answers them", async () => {
    const replies: Record<string, unknown> = { set: null, ttl: 42, hgetall: ["messages", "3", "tokens", "120"], smembers: ["ws_a", "ws_b"], lrange: ["e1", "e2"] };
    const { kv } = await kvOn((s) => {
      const [cmd, key] = s.body as string[];
      return { body: { result: key === "missing" ? [] : (replies[cmd!] ?? null) } };
    });
    expect(await kv.set("k", "v", { nx: true })).toBe(false);
    expect(await kv.ttl("k")).toBe(42);
    expect(await kv.hgetall("h")).toEqual({ messages: 3, tokens: 120 });
    expect(await kv.hgetall("missing")).toEqual({});
    expect((await kv.smembers("s")).sort()).toEqual(["ws_a", "ws_b"]);
    expect(await kv.lrange("l", 0, -1)).toEqual(["e1", "e2"]);
  });

  it("sends several commands as one /pipeline request and reads one answer per command", async () => {
    const { up, kv } = await kvOn((s) => ({ body: (s.body as string[][]).map((c, i) => ({ result: c[0] === "expire" ? 1 : 7 + i })) }));
    expect(await kv.incr("n", 60)).toBe(7);
    expect(await kv.hincrby("h", { messages: 1, tokens: 50 }, 86_400)).toEqual({ messages: 7, tokens: 8 });
    expect(up.seen.map((s) => [s.path, s.body])).toEqual([
      ["/pipeline", [["incr", "n"], ["expire", "n", "60", "nx"]]],
      ["/pipeline", [["hincrby", "h", "messages", "1"], ["hincrby", "h", "tokens", "50"], ["expire", "h", "86400", "nx"]]],
    ]);
  });

  it("fails as a dependency failure (503) with Upstash's error, for a command and inside a pipeline", async () => {
    const { kv } = await kvOn((s) =>
      s.path === "/pipeline"
        ? { body: [{ result: 1 }, { error: "ERR value is not an integer or out of range" }] }
        : { status: 400, body: { error: "WRONGTYPE Operation against a key holding the wrong kind of value" } },
    );
    const one = await kv.get("k").catch((e: unknown) => e);
    expect(isDependencyFailure(one)).toBe(true);
    expect(String((one as Error).message)).toContain("WRONGTYPE");
    const piped = await kv.incr("n", 60).catch((e: unknown) => e);
    expect(isDependencyFailure(piped)).toBe(true);
    expect(String((piped as Error).message)).toContain("not an integer");
  });

  it("fails on a wrong token (401 with an error) and on an answer that is not the protocol's", async () => {
    const { up, kv } = await kvOn((s) => (s.auth === "Bearer nope" ? { status: 401, body: { error: "Unauthorized" } } : { status: 502, body: "<html>bad gateway</html>" }));
    const denied = await upstashKv(up.url, "nope").get("k").catch((e: unknown) => e);
    expect(isDependencyFailure(denied)).toBe(true);
    expect(String((denied as Error).message)).toContain("Unauthorized");
    expect(isDependencyFailure(await kv.get("k").catch((e: unknown) => e))).toBe(true);
  });

  it("retries a command once when the connection is reset, and only once", async () => {
    const { up, kv } = await kvOn((_s, n) => (n === 1 ? "reset" : { body: { result: "back" } }));
    expect(await kv.get("k")).toBe("back");
    expect(up.seen).toHaveLength(2);
    const { up: down, kv: kvDown } = await kvOn(() => "reset");
    expect(isDependencyFailure(await kvDown.get("k").catch((e: unknown) => e))).toBe(true);
    expect(down.seen).toHaveLength(2);
  });
});
