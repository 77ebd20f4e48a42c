// The request body limit (1 MiB) on the real local server, over HTTP: a body with a
// Content-Length is judged by it, a chunked one by counting what arrives; either way an
// oversized body is a 413 in the error shape, and a body within the limit is read as before.
import { request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_BODY_LIMIT } from "../../lib/create-app";
import { startServer } from "../../lib/local/server";

const server = await startServer({ dataDir: null, port: 0, env: { RATE_LIMIT_PER_MINUTE: "100000" }, environment: "test" });
afterAll(() => server.close());

interface Sent {
  method?: string;
  path: string;
  token?: string;
  /** Sent with a Content-Length, or, as `chunks`, with Transfer-Encoding: chunked. */
  body?: string;
  chunks?: string[];
  headers?: Record<string, string>;
}

/** One HTTP/1.1 request over node:http, exactly as given; resolves with the status and parsed body. */
function send(s: Sent): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json", ...(s.token ? { authorization: `Bearer ${s.token}` } : {}), ...(s.headers ?? {}) };
    if (s.body !== undefined) headers["content-length"] = String(Buffer.byteLength(s.body));
    const req = request(`${server.url}${s.path}`, { method: s.method ?? "POST", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    // The server may answer (413) and close before an oversized body is all sent.
    req.on("error", (err) => ((err as NodeJS.ErrnoException).code === "EPIPE" || (err as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(err)));
    if (s.chunks) {
      req.setHeader("transfer-encoding", "chunked");
      for (const c of s.chunks) req.write(c);
      req.end();
    } else req.end(s.body);
  });
}

const signUp = async () => {
  const email = `o-${Math.random().toString(36).slice(2)}@example.com`;
  const r = await send({ path: "/v1/workspaces", body: JSON.stringify({ name: "WS", owner: { name: "O", email, password: "s3cret-password" } }) });
  expect(r.status).toBe(201);
  return r.body.access_token as string;
};

describe("request body limit over HTTP", () => {
  it("reads a body within the limit, sent with a Content-Length or chunked", async () => {
    const token = await signUp();
    const sized = await send({ path: "/v1/assistants", token, body: JSON.stringify({ name: "Sized", instructions: "é — answer briefly." }) });
    expect(sized.status).toBe(201);
    expect(sized.body).toMatchObject({ name: "Sized", instructions: "é — answer briefly." });
    const body = JSON.stringify({ name: "Chunked", instructions: "Answer briefly." });
    const chunked = await send({ path: "/v1/assistants", token, chunks: [body.slice(0, 10), body.slice(10)] });
    expect(chunked.status).toBe(201);
    expect(chunked.body).toMatchObject({ name: "Chunked" });
  });

  it("refuses a body over the limit with 413, by its Content-Length or by counting a chunked one", async () => {
    const token = await signUp();
    const big = JSON.stringify({ name: "Big", instructions: "x".repeat(DEFAULT_BODY_LIMIT) });
    const sized = await send({ path: "/v1/assistants", token, body: big });
    expect(sized.status).toBe(413);
    expect(sized.body.error).toMatchObject({ code: "payload_too_large" });
    const chunked = await send({ path: "/v1/assistants", token, chunks: [big.slice(0, 600_000), big.slice(600_000)] });
    expect(chunked.status).toBe(413);
    expect(chunked.body.error).toMatchObject({ code: "payload_too_large" });
    // Nothing was created.
    const list = await send({ method: "GET", path: "/v1/assistants", token });
    expect(list.body.data.map((a: { name: string }) => a.name)).not.toContain("Big");
  });

  it("answers malformed JSON and a GET with 400 and 200 as before", async () => {
    const token = await signUp();
    const bad = await send({ path: "/v1/assistants", token, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "bad_request" });
    const list = await send({ method: "GET", path: "/v1/assistants", token });
    expect(list.status).toBe(200);
  });
});
