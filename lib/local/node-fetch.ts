// `fetch` over node:http / node:https with keep-alive, for the openai SDK in the local server
// (the Workers keep the runtime's own fetch). Node's built-in fetch (undici behind the WHATWG
// layer) costs several times node:http's CPU per request: measured on loopback against the
// fake OpenAI server, the SDK's streamed request reached the upstream in 0.32–0.34 ms through
// this and 0.52–0.76 ms through the built-in fetch, and that time is added to every chat's
// first token. What the SDK sends (a URL, a string body, headers, a signal) goes here; anything
// else (a Request object, a stream or form body) and any redirect go to the built-in fetch.
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import zlib from "node:zlib";

const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };
const NULL_BODY = new Set([101, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);

function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | null {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip();
    case "deflate":
      return zlib.createInflate();
    case "br":
      return zlib.createBrotliDecompress();
    default:
      return null;
  }
}

function abortReason(signal: AbortSignal): unknown {
  const r = signal.reason;
  return r instanceof Error && r.name === "AbortError" ? r : new DOMException("This operation was aborted", "AbortError");
}

export const nodeFetch: typeof fetch = (input, init) => {
  const body = init?.body;
  const plainBody = body == null || typeof body === "string" || body instanceof Uint8Array;
  const target = typeof input === "string" ? input : input instanceof URL ? input.href : null;
  const url = target ? new URL(target) : null;
  if (!url || !plainBody || !(url.protocol in agents)) return fetch(input, init);
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortReason(signal));

  return new Promise<Response>((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    if (body != null) headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
    const request = (url.protocol === "https:" ? https : http).request(url, {
      method: init?.method ?? "GET",
      headers,
      agent: agents[url.protocol as keyof typeof agents],
    });
    // As the built-in fetch: an abort rejects the pending answer, or errors the body being read.
    let stream: Readable | undefined;
    const onAbort = () => {
      const reason = abortReason(signal!);
      if (stream) stream.destroy(reason as Error);
      request.destroy(reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    request.on("error", (err) => {
      done();
      reject(signal?.aborted ? abortReason(signal) : new TypeError("fetch failed", { cause: err }));
    });
    request.once("response", (res) => {
      const status = res.statusCode ?? 502;
      if (REDIRECT.has(status) && res.headers.location) {
        res.resume();
        done();
        resolve(fetch(input, init));
        return;
      }
      const out = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      stream = res;
      res.once("close", done);
      const decode = decoder(res.headers["content-encoding"]);
      if (decode) {
        const decoded = res.pipe(decode) as unknown as Readable;
        res.once("error", (err) => decoded.destroy(err));
        stream = decoded;
        out.delete("content-encoding");
        out.delete("content-length");
      }
      const isNull = NULL_BODY.has(status) || request.method === "HEAD";
      if (isNull) res.resume();
      resolve(
        new Response(isNull ? null : (Readable.toWeb(stream) as ReadableStream<Uint8Array>), {
          status: status < 200 || status > 599 ? 502 : status,
          statusText: res.statusMessage ?? "",
          headers: out,
        }),
      );
    });
    request.end(body == null ? undefined : body);
  });
};
