// Inbound email: N signed Mailgun route forwards posted over HTTP to the local server (embedded
// PGlite, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set), each timed from the POST until
// its 200, when the contact, conversation and message are committed. Senders write a first email
// (a new conversation) then replies threaded by In-Reply-To; every tenth email carries a 20 KiB
// attachment. Verification (HMAC, token claimed in Redis), the form parse and the transaction are
// all in the figure.
import { eq, sql } from "drizzle-orm";
import { forwardFields, newMessageId, signedForwardRequest } from "../lib/local/mailgun-inbound";
import { messages } from "../schema";
import { api, type BenchContext, signUp, startBenchServer } from "./support";

export const name = "inbound";
export const description = "inbound email (signed Mailgun route forward) → stored conversation: p50/p99 over N emails";
export const order = 65;

const N = Number(process.env.BENCH_INBOUND) > 0 ? Number(process.env.BENCH_INBOUND) : 1000;
/** Emails per sender: the first starts a conversation, the rest reply in it. */
const PER_SENDER = 5;
const WARMUP = 20;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

interface Sample {
  kind: "new" | "reply" | "attachment";
  ms: number;
}

export async function run(ctx: BenchContext): Promise<void> {
  const server = await startBenchServer();
  try {
    const base = server.url;
    const key = server.services.config.mailgunWebhookSigningKey!;
    const t = await signUp(base);
    const address = `bench-${Date.now().toString(36)}@mg.acme.example`;
    await api(base, "POST", "/v1/channels", { type: "email", name: "Bench", config: { address } }, t.jwt);
    const url = `${base}/inbound/mailgun/messages`;
    const attachment = new Uint8Array(20 * 1024).fill(65);

    let sent = 0;
    let failed = 0;
    const post = async (i: number, sender: string, inReplyTo: string | undefined, samples: Sample[] | null) => {
      const messageId = newMessageId("bench.customer.example");
      const fields = forwardFields({ to: address, from: sender, fromName: "Bench Customer", subject: `Bench ${sender}`, text: `Message ${i}`, messageId, inReplyTo, quoted: inReplyTo ? "Earlier text" : undefined });
      const withFile = i % 10 === 9;
      const req = await signedForwardRequest(url, fields, key, withFile ? [new File([attachment], `file-${i}.txt`, { type: "text/plain" })] : []);
      const started = performance.now();
      const res = await fetch(req);
      await res.arrayBuffer();
      const ms = performance.now() - started;
      if (res.status !== 200) failed++;
      samples?.push({ kind: withFile ? "attachment" : inReplyTo ? "reply" : "new", ms });
      sent++;
      return messageId;
    };

    // Warm-up (not measured): connections, prepared paths, the first PGlite pages.
    for (let i = 0; i < WARMUP; i++) await post(i, `warmup${i}@bench.customer.example`, undefined, null);

    const samples: Sample[] = [];
    const senders = Math.ceil(N / PER_SENDER);
    let next = 0;
    let index = 0;
    const worker = async () => {
      while (next < senders) {
        const s = next++;
        const sender = `customer${s}.${Date.now().toString(36)}@bench.customer.example`;
        let last: string | undefined;
        for (let k = 0; k < PER_SENDER && index < N; k++) last = await post(index++, sender, last, samples);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: ctx.connections }, worker));
    const wall = performance.now() - started;

    const [row] = await server.services.db
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(eq(messages.workspaceId, t.workspaceId));
    const stored = Number(row?.n ?? 0);
    const line = (label: string, list: number[]) => {
      const sorted = [...list].sort((x, y) => x - y);
      console.log(`  ${label.padEnd(22)} ${String(sorted.length).padStart(6)}  p50 ${pct(sorted, 50).toFixed(1).padStart(7)} ms  p99 ${pct(sorted, 99).toFixed(1).padStart(7)} ms`);
    };
    console.log(`\ninbound email → stored conversation (${server.services.describe.database}; Redis ${server.services.describe.redis}; ${ctx.connections} concurrent)`);
    line("all", samples.map((s) => s.ms));
    line("new conversation", samples.filter((s) => s.kind === "new").map((s) => s.ms));
    line("reply (threaded)", samples.filter((s) => s.kind === "reply").map((s) => s.ms));
    line("with 20 KiB attachment", samples.filter((s) => s.kind === "attachment").map((s) => s.ms));
    console.log(`  throughput             ${((samples.length / wall) * 1000).toFixed(0)} emails/s (${(wall / 1000).toFixed(1)} s)`);
    console.log(`  stored messages        ${stored} of ${sent} posted (${failed} non-200)`);
  } finally {
    await server.dispose();
  }
}
