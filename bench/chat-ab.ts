// Interleaved A/B of the chat's time to first token between two checkouts of Parley:
//   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
//   npx tsx bench/chat-ab.ts /tmp/before .
// Both checkouts' local servers (PGlite in temp dirs) run in this one process beside one fake
// upstream, and each round asks the upstream directly, then A and B in alternating order, so
// drift in the machine's speed hits both alike. On a shared 2-core host, back-to-back runs of
// `npm run bench -- chat` on the same code differ by up to 3 ms; this is how a change is judged.
// On PostgreSQL give each side its own database (a migration would otherwise reach both):
//   DATABASE_URL='postgres://postgres@127.0.0.1/ab_{side}' REDIS_URL=redis://127.0.0.1:6379 npx tsx …
// ({side} becomes a and b; both databases must exist).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startFakeOpenAI } from "../tests/support/fake-openai";
import { direct as askUpstream, viaParley } from "./chat.bench";

const [a, b] = process.argv.slice(2, 4).map((d) => resolve(d));
if (!a || !b) {
  console.error("usage: npx tsx bench/chat-ab.ts <checkout A> <checkout B> [rounds]");
  process.exit(1);
}
const ROUNDS = Number(process.argv[4]) > 0 ? Number(process.argv[4]) : 200;
const WARM = 20;

interface Side {
  dir: string;
  url: string;
  key: string;
  assistant: string;
  conversation: string;
  fresh: number[];
  continued: number[];
  store: number[];
  /** New conversation: until the stream's end (the reply stored, then message_end). */
  whole: number[];
  dispose(): Promise<void>;
}

const quantile = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length * q)]!;
const median = (xs: number[]) => quantile(xs, 0.5);

const fake = await startFakeOpenAI();
fake.setDefault({ text: "Refunds are processed within five business days of the return arriving." });
const env = { OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: "fake-gpt", OPENAI_MAX_RETRIES: "0" };
const sides: Side[] = [];
const databaseUrl = process.env.DATABASE_URL;
for (const [i, dir] of [a, b].entries()) {
  if (databaseUrl) process.env.DATABASE_URL = databaseUrl.replaceAll("{side}", i ? "b" : "a");
  const support = await import(pathToFileURL(`${dir}/bench/support.ts`).href);
  const server = await support.startBenchServer(env);
  const tenant = await support.signUp(server.url);
  const assistant = await support.api(server.url, "POST", "/v1/assistants", { name: "Bench", instructions: "Answer briefly." }, tenant.apiKey);
  sides.push({ dir, url: server.url, key: tenant.apiKey, assistant: assistant.id, conversation: "", fresh: [], continued: [], store: [], whole: [], dispose: () => server.dispose() });
}
try {
  const direct: number[] = [];
  const directWhole: number[] = [];
  for (let i = 0; i < ROUNDS + WARM; i++) {
    const d = await askUpstream(fake);
    if (i >= WARM) {
      direct.push(d.first);
      directWhole.push(d.total);
    }
    for (const s of i % 2 ? sides : [...sides].reverse()) {
      const f = await viaParley(s.url, s.key, { message: "How long do refunds take?", assistant_id: s.assistant });
      if (i % 10 === 0) s.conversation = f.conversationId; // a continued chat grows to ~22 messages
      const c = await viaParley(s.url, s.key, { message: "And shipping?", conversation_id: s.conversation });
      if (i >= WARM) {
        s.fresh.push(f.first);
        s.continued.push(c.first);
        s.store.push(f.server.store ?? Number.NaN);
        s.whole.push(f.total);
      }
    }
    fake.requests.length = 0;
  }
  const up = median(direct);
  const upWhole = median(directWhole);
  console.log(`${ROUNDS} rounds; upstream direct: first chunk ${up.toFixed(2)} ms, whole answer ${upWhole.toFixed(2)} ms (medians)`);
  console.log("added (median − direct)                  first token: new  (p90)   continued   store (new, Server-Timing)   whole reply (new)");
  for (const [name, s] of [["A", sides[0]!], ["B", sides[1]!]] as const) {
    const cols = [
      `${(median(s.fresh) - up).toFixed(2).padStart(8)} ms`,
      `(${(quantile(s.fresh, 0.9) - up).toFixed(2)})`,
      `${(median(s.continued) - up).toFixed(2).padStart(8)} ms`,
      `${median(s.store).toFixed(2).padStart(12)} ms`,
      `${(median(s.whole) - upWhole).toFixed(2).padStart(22)} ms`,
    ];
    console.log(`${name} ${s.dir.padEnd(36)} ${cols.join(" ")}`);
  }
} finally {
  for (const s of sides) await s.dispose();
  await fake.close();
}
