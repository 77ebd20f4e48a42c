// The local server's fetch over node:http (lib/local/node-fetch.ts), which the openai SDK uses
// there: it must behave as the built-in fetch does for what the SDK sends and reads.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFetch } from "../../lib/local/node-fetch";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai";

let base = "";
let fake: FakeOpenAI;
const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  switch (req.url) {
    case "/echo":
      res.writeHead(201, "Made", { "content-type": "application/json", "x-many": ["a", "b"] });
      res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
      return;
    case "/slow-stream":
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      setTimeout(() => res.end("data: two\n\n"), 150);
      return;
    case "/hang-body":
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first");
      return; // never ends
    case "/hang":
      return;
    case "/empty":
      res.writeHead(204).end();
      return;
    case "/gzip":
      res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" }).end(gzipSync("unzipped text"));
      return;
    case "/moved":
      res.writeHead(307, { location: "/echo" }).end();
      return;
    default:
      res.writeHead(404).end("no");
  }
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await fake.close();
});

describe("nodeFetch", () => {
  it("sends the method, headers and body, and answers status, status text, repeated headers and body", async () => {
    const res = await nodeFetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json", "x-one": "1" }, body: '{"é":1}' });
    expect(res.status).toBe(201);
    expect(res.statusText).toBe("Made");
    expect(res.headers.get("x-many")).toBe("a, b");
    const echoed = await res.json();
    expect(echoed).toMatchObject({ method: "POST", body: '{"é":1}', headers: { "x-one": "1", "content-type": "application/json", "content-length": "8" } });
  });

  it("takes a URL object and Headers, and a Uint8Array body", async () => {
    const res = await nodeFetch(new URL(`${base}/echo`), { method: "PUT", headers: new Headers({ "x-two": "2" }), body: new TextEncoder().encode("bytes") });
    expect(await res.json()).toMatchObject({ method: "PUT", body: "bytes", headers: { "x-two": "2", "content-length": "5" } });
  });

  it("streams the body as it arrives", async () => {
    const res = await nodeFetch(`${base}/slow-stream`);
    const reader = res.body!.getReader();
    const t0 = Date.now();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n");
    expect(Date.now() - t0).toBeLessThan(140); // before the second part was written
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("data: two\n\n");
  });

  it("answers a null body for 204, decompresses gzip and follows redirects", async () => {
    const empty = await nodeFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const zipped = await nodeFetch(`${base}/gzip`);
    expect(zipped.headers.get("content-encoding")).toBeNull();
    expect(await zipped.text()).toBe("unzipped text");
    const moved = await nodeFetch(`${base}/moved`, { method: "POST", body: "again" });
    expect(moved.status).toBe(201);
    expect(await moved.json()).toMatchObject({ method: "POST", body: "again" });
  });

  it("rejects with an AbortError when aborted before the answer, and errors the body when aborted during it", async () => {
    const before = new AbortController();
    const pending = nodeFetch(`${base}/hang`, { signal: before.signal });
    setTimeout(() => before.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await expect(nodeFetch(`${base}/echo`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });

    const during = new AbortController();
    const res = await nodeFetch(`${base}/hang-body`, { signal: during.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first");
    during.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects with a TypeError naming the cause when nothing listens", async () => {
    const err = await nodeFetch("http://127.0.0.1:9/nowhere").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError).cause).toMatchObject({ code: "ECONNREFUSED" });
  });

  it("carries the openai SDK's streamed chat completion unchanged", async () => {
    fake.setDefault({ text: "Refunds take five days." });
    const client = new OpenAI({ apiKey: "sk-test", baseURL: fake.url, maxRetries: 0, fetch: nodeFetch });
    const stream = await client.chat.completions.create({ model: "fake-gpt", stream: true, messages: [{ role: "user", content: "refunds?" }] });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Refunds take five days.");
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer sk-test");
    fake.enqueue({ status: 429 });
    await expect(client.chat.completions.create({ model: "fake-gpt", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });
});
