// What Parley's SSE relay adds to a chat stream, on the local server (PGlite in a temp
// DATA_DIR) with the fake OpenAI-compatible server as the upstream, both on loopback:
// 1. time to first token: POST /v1/chat/stream until the first `delta` event, vs the same
//    request straight to the upstream until its first content chunk (median of ≥ 50 runs);
//    Parley's figure includes auth, storing the user message (one statement: message, counters,
//    events, and for an existing conversation the assistant and history), and the upstream call
//    through the openai SDK. Three kinds of chat: a new conversation, a continued one of at most
//    ~22 messages, and a long one that grows by two messages a run. The server's own
//    Server-Timing (pipeline, store) splits what came before the model call.
// 2. per-chunk relay cost: a 1,000-chunk stream through Parley vs straight from the upstream.
import { type FakeOpenAI, startFakeOpenAI } from "../tests/support/fake-openai";
import { api, signUp, startBenchServer } from "./support";

export const name = "chat";
export const description = "SSE chat relay: time to first delta through Parley vs straight from the upstream; per-chunk relay cost over 1,000 chunks";
export const order = 60;

const RUNS = Number(process.env.BENCH_CHAT_RUNS) > 0 ? Number(process.env.BENCH_CHAT_RUNS) : 60;
const LONG_RUNS = 7;
const CHUNKS = 1_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

/** Reads an SSE response; returns ms to the first content and ms to the end. */
async function timeStream(
  res: Response,
  t0: number,
  isContent: (block: string) => boolean,
): Promise<{ t0: number; first: number; total: number; contentEvents: number; server: Record<string, number>; conversationId: string }> {
  if (!res.ok || !res.body) throw new Error(`stream failed: ${res.status} ${await res.text()}`);
  // Parley's Server-Timing: what the server spent before calling the model, by phase.
  const server: Record<string, number> = {};
  for (const m of (res.headers.get("server-timing") ?? "").matchAll(/(\w+);dur=([\d.]+)/g)) server[m[1]!] = Number(m[2]);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let first = Number.NaN;
  let n = 0;
  let conversationId = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at = buf.indexOf("\n\n");
    while (at >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      conversationId ||= /"conversation_id":"(conv_[0-9a-z]+)"/.exec(block)?.[1] ?? "";
      if (isContent(block)) {
        n++;
        if (Number.isNaN(first)) first = performance.now() - t0;
      }
      at = buf.indexOf("\n\n");
    }
  }
  return { t0, first, total: performance.now() - t0, contentEvents: n, server, conversationId };
}

const upstreamContent = (b: string) => b.startsWith("data: {") && b.includes('"content":"') && !b.includes('"content":""');
const parleyDelta = (b: string) => b.includes("\nevent: delta\n");

/** The upstream asked directly, as Parley asks it (also used by bench/chat-ab.ts). */
export function direct(fake: FakeOpenAI) {
  const t0 = performance.now();
  return fetch(`${fake.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
    body: JSON.stringify({ model: "fake-gpt", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "How long do refunds take?" }] }),
  }).then((res) => timeStream(res, t0, upstreamContent));
}

/** POST /v1/chat/stream, timed to the first `delta`, with the server's Server-Timing phases. */
export function viaParley(base: string, key: string, body: Record<string, unknown>) {
  const t0 = performance.now();
  return fetch(`${base}/v1/chat/stream`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  }).then((res) => timeStream(res, t0, parleyDelta));
}

export async function run(): Promise<void> {
  const fake = await startFakeOpenAI();
  const server = await startBenchServer({ OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_MAX_RETRIES: "0" });
  try {
    const t = await signUp(server.url);
    const assistant = await api(server.url, "POST", "/v1/assistants", { name: "Bench", instructions: "Answer briefly.", knowledge: "Refunds take 5 days." }, t.apiKey);
    fake.setDefault({ text: "Refunds are processed within five business days of the return arriving." });

    // Warm-up: connections, JIT, first transactions.
    for (let i = 0; i < 10; i++) {
      await direct(fake);
      await viaParley(server.url, t.apiKey, { message: "warm up", assistant_id: assistant.id });
    }

    // 1. Time to first token, interleaved so drift hits both sides alike.
    const up: number[] = [];
    const fresh: number[] = [];
    const cont: number[] = [];
    // Split by when the request reached the upstream (same process, same clock): the work
    // before the model is called (auth, storing the message, history), and the token path after.
    const upAfter: number[] = [];
    const freshBefore: number[] = [];
    const freshAfter: number[] = [];
    const contBefore: number[] = [];
    const contAfter: number[] = [];
    const freshServer: Array<Record<string, number>> = [];
    const contServer: Array<Record<string, number>> = [];
    const start = await fetch(`${server.url}/v1/chat/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.apiKey}` },
      body: JSON.stringify({ message: "start", assistant_id: assistant.id }),
    }).then((r) => r.text());
    // The long conversation gets two messages a run (reaching 2 × RUNS); the continued one is
    // a new conversation every 10 runs (at most ~22 messages, a typical chat).
    const longId = /"conversation_id":"(conv_[0-9a-z]+)"/.exec(start)![1]!;
    let conversationId = longId;
    const long: number[] = [];
    const longServer: Array<Record<string, number>> = [];
    const arrival = () => fake.requests.at(-1)!.at;
    for (let i = 0; i < RUNS; i++) {
      const d = await direct(fake);
      up.push(d.first);
      upAfter.push(d.t0 + d.first - arrival());
      const f1 = await viaParley(server.url, t.apiKey, { message: "How long do refunds take?", assistant_id: assistant.id });
      fresh.push(f1.first);
      freshBefore.push(arrival() - f1.t0);
      freshAfter.push(f1.t0 + f1.first - arrival());
      freshServer.push(f1.server);
      if (i % 10 === 0) conversationId = f1.conversationId;
      const c1 = await viaParley(server.url, t.apiKey, { message: "And shipping?", conversation_id: conversationId });
      cont.push(c1.first);
      contBefore.push(arrival() - c1.t0);
      contAfter.push(c1.t0 + c1.first - arrival());
      contServer.push(c1.server);
      const l1 = await viaParley(server.url, t.apiKey, { message: "And returns?", conversation_id: longId });
      long.push(l1.first);
      longServer.push(l1.server);
      fake.requests.length = 0;
    }

    // 2. Per-chunk relay: 1,000 chunks, no delay upstream.
    fake.setDefault({ chunks: CHUNKS });
    const upTotal: number[] = [];
    const parleyTotal: number[] = [];
    for (let i = 0; i < LONG_RUNS; i++) {
      const d = await direct(fake);
      const p = await viaParley(server.url, t.apiKey, { message: "long one", assistant_id: assistant.id });
      if (d.contentEvents !== CHUNKS || p.contentEvents !== CHUNKS) throw new Error(`expected ${CHUNKS} chunks, got ${d.contentEvents} / ${p.contentEvents}`);
      upTotal.push(d.total);
      parleyTotal.push(p.total);
    }

    const f = (n: number) => n.toFixed(2);
    const rows: string[][] = [
      ["upstream direct: first content chunk", f(median(up)), f(p90(up)), "—", f(median(upAfter))],
      ["Parley, new conversation: first delta", f(median(fresh)), f(p90(fresh)), f(median(freshBefore)), f(median(freshAfter))],
      ["Parley, existing conversation: first delta", f(median(cont)), f(p90(cont)), f(median(contBefore)), f(median(contAfter))],
      [`Parley, long conversation (to ${2 * RUNS} messages)`, f(median(long)), f(p90(long)), "—", "—"],
    ];
    const head = ["time to first token (ms)", "median", "p90", "before upstream call", "upstream arrival → first token"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    const dbName = process.env.DATABASE_URL ? "PostgreSQL through the Neon driver" : "PGlite on disk";
    console.log(`\nChat SSE relay (${RUNS} runs each, fake upstream on loopback, ${dbName})`);
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    const perChunk = ((median(parleyTotal) - median(upTotal)) / CHUNKS) * 1000;
    console.log(
      `\n${CHUNKS}-chunk stream (${LONG_RUNS} runs): upstream direct ${f(median(upTotal))} ms, through Parley ${f(median(parleyTotal))} ms → ${perChunk.toFixed(1)} µs added per chunk`,
    );
    const phase = (list: Array<Record<string, number>>, k: string) => f(median(list.map((s) => s[k] ?? Number.NaN)));
    console.log(
      `inside Parley before the model call (Server-Timing medians): pipeline (auth, rate limit, validation) ${phase(freshServer, "pipeline")} / ${phase(contServer, "pipeline")} ms, storing the user message ${phase(freshServer, "store")} / ${phase(contServer, "store")} / ${phase(longServer, "store")} ms (new / existing / long conversation)`,
    );
    const relay = median(freshAfter) - median(upAfter);
    console.log(`added to first token by the relay (upstream arrival → first token, Parley − direct): ${f(relay)} ms new conversation, ${f(median(contAfter) - median(upAfter))} ms existing`);
    console.log(`added in total (medians, Parley − direct): ${f(median(fresh) - median(up))} ms new conversation, ${f(median(cont) - median(up))} ms existing, ${f(median(long) - median(up))} ms long; target ≤ 5 ms: relay ${relay <= 5 ? "met" : "NOT met"}, total ${median(fresh) - median(up) <= 5 ? "met" : "NOT met"}`);
  } finally {
    await server.dispose();
    await fake.close();
  }
}
