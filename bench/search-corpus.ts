// The deterministic corpus of `npm run bench:search`: a seeded vocabulary (real support-inbox
// words, most frequent first, then a long tail of made-up words) and the SQL that generates
// conversations, messages, summaries and tags from it inside PostgreSQL (generate_series and
// a hash-based pseudo-random choice, so 1,000,000 messages load in about a minute).

/** Real words, roughly by frequency in a support inbox (stop words first, as in real text). */
const CORE = `the to and i a you my is it for of in on that this we your have be with can not
are please was order but do will thanks at me if help hi so no get an just account what has
would there they from as been our how when card payment refund delivery still need any time
now could email again know hello issue yes back all up one like received working help new
send sent invoice customer support thank able app login password update shipping package
subscription price plan charge charged problem error message phone number address today week
day days tomorrow yesterday cancel cancelled return item product size color replace replacement
tracking courier store website checkout cart discount code coupon bill billing receipt bank
transfer credit debit wallet paypal balance upgrade downgrade trial free premium team member
admin user users settings profile notification notifications reset link click page screen
browser android iphone mobile desktop version install download upload file files photo
attachment broken damaged missing wrong late delay delayed delays waiting wait hours minutes
month months year urgent asap quickly soon manager supervisor complaint feedback review rating
happy unhappy frustrated disappointed great good bad terrible excellent perfect sorry apologize
understand confirm confirmation verify verification sign signup register registration
unsubscribe spam security secure locked blocked suspended fraud dispute chargeback warranty
guarantee repair service technician appointment booking reservation schedule reschedule
meeting call callback chat agent human bot automatic reply response respond answer question
questions information details contract terms policy privacy data export import integration api
webhook key token server outage down slow fast speed performance crash crashed bug glitch
feature request suggestion roadmap release beta stable documentation guide tutorial
onboarding setup configure configuration migrate migration backup restore sync synchronize
calendar contacts inbox folder archive delete deleted restore recovered lost found keys
voucher gift loyalty points reward membership renewal renew expire expired expiry license
seat seats quota limit limits usage storage bandwidth invoice pdf tax vat currency euro dollar
pound shipping customs duty import export pallet warehouse stock inventory backorder preorder
launch event webinar conference training demo pricing quote estimate proposal`;

/** A small seeded PRNG (mulberry32): the same seed always gives the same corpus. */
export function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "cl", "dr", "gr", "pl", "st", "tr", "sh", "ch", "th"];
const VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou"];
const CODAS = ["", "", "n", "r", "l", "s", "t", "m", "x", "nd", "rk", "st"];

/** The vocabulary: real words first, then distinct made-up words (product names, people, jargon). */
export function vocabulary(seed: number, size = 20_000): string[] {
  const seen = new Set<string>();
  const words: string[] = [];
  for (const w of CORE.split(/\s+/)) {
    if (w && !seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  while (words.length < size) {
    const syllables = rnd() < 0.6 ? 2 : 3;
    let w = "";
    for (let i = 0; i < syllables; i++) w += pick(ONSETS) + pick(VOWELS) + (i === syllables - 1 ? pick(CODAS) : "");
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

export const TOPICS = ["billing", "shipping", "login", "refund", "bug", "feature request", "account", "pricing", "integration", "security"];
export const TAGS = ["vip", "urgent", "escalated", "enterprise", "churn-risk", "beta", "press", "partner", "wholesale", "follow-up"];
export const SENTIMENTS = ["positive", "neutral", "negative", "mixed"];
export const STATUSES = ["open", "pending", "snoozed", "resolved", "closed"];
export const SOURCES = ["web", "api", "email", "whatsapp", "chat"];

/**
 * SQL statements that fill `workspaceId` with `conversations` conversations and exactly ten
 * times as many messages. `bench_rand(key, salt)` is a deterministic uniform number in [0, 1);
 * `bench_text(key, n)` draws n words with a Zipf-like (log-uniform rank) distribution, so a
 * few words are everywhere and most are rare, as in real text.
 */
/** [from, to] slices of 1..total. */
function batches(total: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let from = 1; from <= total; from += size) out.push([from, Math.min(total, from + size - 1)]);
  return out;
}

export function corpusSql(opts: { words: string[]; workspaceId: string; conversations: number; seed: number; epoch: string }): string[] {
  const { workspaceId: ws, conversations: nc, seed } = opts;
  const arr = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(",")}]`;
  return [
    `CREATE OR REPLACE FUNCTION bench_rand(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
       $$ SELECT (hashint8extended(k, ${seed} * 1000 + salt) & 2147483647)::float8 / 2147483648.0 $$`,
    // A table, not an array: subscripting a 20,000-element text[] walks it element by element.
    `CREATE TABLE IF NOT EXISTS bench_words (rank int PRIMARY KEY, word text NOT NULL)`,
    `TRUNCATE bench_words`,
    `INSERT INTO bench_words SELECT i, w FROM unnest(${arr(opts.words)}) WITH ORDINALITY AS t(w, i)`,
    `CREATE OR REPLACE FUNCTION bench_text(k bigint, n int) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
       $$ SELECT string_agg((SELECT w.word FROM bench_words w
            WHERE w.rank = least(${opts.words.length}, floor(exp(bench_rand(k * 64 + i, 1) * ln(${opts.words.length + 1})))::int)), ' ' ORDER BY i)
          FROM generate_series(1, n) i $$`,
    `INSERT INTO conversations (id, workspace_id, title, content, source, status, summary, message_count, created_at, updated_at)
     SELECT 'conv_bench_' || g, '${ws}',
       initcap(bench_text(g * 7919 + 1, 3 + (bench_rand(g, 2) * 5)::int)),
       CASE WHEN bench_rand(g, 3) < 0.2 THEN bench_text(g * 7919 + 2, 20 + (bench_rand(g, 4) * 60)::int) END,
       (${arr(SOURCES)})[1 + (bench_rand(g, 5) * 5)::int % 5],
       (${arr(STATUSES)})[1 + (bench_rand(g, 6) * 5)::int % 5],
       CASE WHEN bench_rand(g, 7) < 0.6 THEN jsonb_build_object(
         'title', initcap(bench_text(g * 7919 + 3, 4)),
         'content', bench_text(g * 7919 + 4, 15 + (bench_rand(g, 8) * 25)::int),
         'sentiment', (${arr(SENTIMENTS)})[1 + (bench_rand(g, 9) * 4)::int % 4],
         'topics', jsonb_build_array((${arr(TOPICS)})[1 + (bench_rand(g, 10) * 10)::int % 10], (${arr(TOPICS)})[1 + (bench_rand(g, 11) * 10)::int % 10]),
         'action_items', '[]'::jsonb, 'language', 'en', 'style', 'concise') END,
       0,
       '${opts.epoch}'::timestamptz - (bench_rand(g, 12) * 365 * 86400) * interval '1 second',
       '${opts.epoch}'::timestamptz
     FROM generate_series(1::bigint, ${nc}) g`,
    // Messages: conversations 2k-1 and 2k get 10+d and 10-d messages (d from 0 to 9), so every
    // conversation has 1 to 19 and the total is exactly 10 per conversation; each is 4 to 40
    // words, a few minutes after the previous one. Loaded in slices of conversations, so the
    // statement trigger indexes each conversation's messages in one update.
    ...batches(nc, Math.max(1, Math.floor(nc / 10))).map(([from, to]) => `INSERT INTO messages (id, workspace_id, conversation_id, sender_type, content, created_at)
     SELECT 'msg_bench_' || g || '_' || j, '${ws}', 'conv_bench_' || g,
       (ARRAY['contact','agent','assistant','note'])[1 + (bench_rand(g * 64 + j, 21) * 4)::int % 4],
       bench_text(g * 104729 + j * 7 + 5, 4 + (bench_rand(g * 64 + j, 22) * 36)::int),
       c.created_at + j * interval '3 minutes'
     FROM generate_series(${from}::bigint, ${to}) g
     JOIN conversations c ON c.id = 'conv_bench_' || g
     CROSS JOIN LATERAL generate_series(1, 10 + (CASE WHEN g % 2 = 1 THEN 1 ELSE -1 END) * (floor(bench_rand((g + 1) / 2, 20) * 10))::int) j`),
    `UPDATE conversations c SET message_count = m.n FROM (SELECT conversation_id, count(*) n FROM messages WHERE workspace_id = '${ws}' GROUP BY 1) m WHERE c.id = m.conversation_id`,
    `INSERT INTO tags (id, workspace_id, name) SELECT 'tag_bench_' || i, '${ws}', (${arr(TAGS)})[i] FROM generate_series(1, ${TAGS.length}) i`,
    `INSERT INTO conversation_tags (workspace_id, conversation_id, tag_id)
     SELECT DISTINCT '${ws}', 'conv_bench_' || g, 'tag_bench_' || (1 + (bench_rand(g * 3 + t, 30) * ${TAGS.length})::int % ${TAGS.length})
     FROM generate_series(1, ${nc}) g, generate_series(1, 2) t WHERE bench_rand(g * 3 + t, 31) < 0.3`,
  ];
}
