// parley-offline: what Parley answers with when no language model is configured. It is not a
// model and never pretends to be one: summaries are extractive (sentences picked from the
// text), sentiment comes from a word list, topics are frequent keywords, action items are
// imperative sentences, and chat replies are templates that quote the assistant's knowledge
// where it shares words with the question, each saying that it comes from the offline assistant.
import { z } from "zod";
import { type ChatMessage, type ChatRequest, type Completion, estimateUsage, KNOWLEDGE_MARKER, type Llm, LlmError, type StreamEvent, type Structured, type StructuredRequest } from "./llm";

export const OFFLINE_MODEL = "parley-offline";

/** ~4 characters a token: what the offline provider reports, and the fallback when a provider reports none. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

// ---- words ----

const STOPWORDS = new Set(
  (
    "a about above after again against all also am an and any are aren't as at be because been before being below between both but by can can't cannot " +
    "could couldn't did didn't do does doesn't doing don't down during each few for from further get got had hadn't has hasn't have haven't having he " +
    "her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't my myself no nor " +
    "not now of off on once only or other ought our ours ourselves out over own please same she should shouldn't so some such than that that's the their " +
    "theirs them themselves then there there's these they they're this those through to too under until up us very was wasn't we we're were weren't what " +
    "what's when where which while who whom why will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves hi hello hey " +
    "thanks thank yes yeah ok okay sure one two also still really much many like want need know think make way well even back get go going"
  ).split(" "),
);

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
}

/** Crude stem so "refunds"/"refunded"/"refunding" meet "refund". */
export function stem(w: string): string {
  const s = w.replace(/[’']s$/, "");
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (s.length > suffix.length + 3 && s.endsWith(suffix)) return s.slice(0, -suffix.length);
  }
  return s;
}

export const contentWords = (text: string) => words(text).filter((w) => w.length > 2 && !STOPWORDS.has(w) && !/^\d+$/.test(w));

export function sentences(text: string): string[] {
  return text
    .replace(/\r/g, "")
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/^[-*•\d.)\s]+/, "").trim())
    .filter((s) => s.length > 1);
}

// ---- analysis ----

export type Sentiment = "positive" | "neutral" | "negative" | "mixed";

const POSITIVE = new Set(
  "good great excellent thanks thank love loved happy awesome perfect helpful resolved works worked working amazing appreciate appreciated glad pleased fantastic wonderful nice satisfied fast easy best quick solved smooth recommend friendly brilliant"
    .split(" "),
);
const NEGATIVE = new Set(
  "bad terrible awful hate angry broken bug error errors fail failed failing fails issue issues problem problems slow refund cancel disappointed disappointing frustrated frustrating annoying worst poor wrong unhappy crash crashed crashes useless complaint delay delayed late missing damaged lost unacceptable confusing stuck"
    .split(" "),
);
const NEGATORS = new Set("not no never don't dont isn't isnt wasn't didn't didnt can't cant won't wont doesn't doesnt nothing hardly".split(" "));

export function sentiment(text: string): Sentiment {
  let pos = 0;
  let neg = 0;
  const ws = words(text);
  ws.forEach((w, i) => {
    // "not working", "no problem": a negator just before flips the word's polarity.
    const negated = NEGATORS.has(ws[i - 1] ?? "") || NEGATORS.has(ws[i - 2] ?? "");
    if (POSITIVE.has(w)) negated ? neg++ : pos++;
    else if (NEGATIVE.has(w)) negated ? pos++ : neg++;
  });
  if (!pos && !neg) return "neutral";
  const ratio = (pos - neg) / (pos + neg);
  if (pos && neg && Math.abs(ratio) < 0.34) return "mixed";
  return ratio > 0 ? "positive" : ratio < 0 ? "negative" : "mixed";
}

function frequencies(text: string): Map<string, { n: number; first: number; word: string }> {
  const freq = new Map<string, { n: number; first: number; word: string }>();
  contentWords(text).forEach((w, i) => {
    const k = stem(w);
    const e = freq.get(k);
    if (e) e.n++;
    else freq.set(k, { n: 1, first: i, word: w });
  });
  return freq;
}

export function topics(text: string, max = 5): string[] {
  return [...frequencies(text).values()]
    .filter((e) => e.word.length >= 4)
    .sort((a, b) => b.n - a.n || a.first - b.first)
    .slice(0, max)
    .map((e) => e.word);
}

const IMPERATIVE = new Set(
  "send call check follow schedule update review email contact fix confirm book prepare share create add remove cancel refund ship reply ask arrange set order escalate investigate write submit pay reset verify test deploy notify remind forward provide replace return resend process look"
    .split(" "),
);
const LEADS = /^(also|and|then|please|kindly|can you|could you|would you|we need to|i need to|you need to|need to|remember to|don't forget to|make sure to|make sure|let's|todo:?|action:?)\s+/i;

export function actionItems(text: string, max = 10): string[] {
  const out: string[] = [];
  for (const s of sentences(text)) {
    let rest = s;
    let led = false;
    for (let i = 0; i < 2 && LEADS.test(rest); i++) {
      rest = rest.replace(LEADS, "");
      led = true;
    }
    const first = words(rest)[0] ?? "";
    if (!IMPERATIVE.has(first) && !(led && /^(todo|action)/i.test(s))) continue;
    const item = rest.replace(/[.!?\s]+$/, "").replace(/\?$/, "");
    const clean = item.charAt(0).toUpperCase() + item.slice(1);
    if (clean.length > 3 && !out.includes(clean)) out.push(clean.slice(0, 300));
    if (out.length >= max) break;
  }
  return out;
}

export type SummaryStyle = "concise" | "detailed" | "bullets";

export function extractiveSummary(text: string, style: SummaryStyle = "concise"): string {
  const all = sentences(text);
  if (!all.length) return "";
  const freq = frequencies(text);
  const scored = all.map((s, i) => {
    const ws = contentWords(s);
    const score = ws.reduce((n, w) => n + (freq.get(stem(w))?.n ?? 0), 0) / Math.sqrt(ws.length + 1);
    return { s, i, score };
  });
  const k = style === "detailed" ? 6 : style === "bullets" ? 5 : 3;
  const picked = [...scored].sort((a, b) => b.score - a.score || a.i - b.i).slice(0, k).sort((a, b) => a.i - b.i);
  return style === "bullets" ? picked.map((p) => `- ${p.s}`).join("\n") : picked.map((p) => p.s).join(" ");
}

const LANGUAGE_MARKERS: Record<string, string[]> = {
  en: ["the", "and", "is", "you", "to", "with", "my", "it"],
  es: ["el", "la", "que", "y", "es", "por", "con", "mi", "una", "gracias"],
  fr: ["le", "la", "et", "est", "je", "vous", "pas", "merci", "une", "avec"],
  de: ["der", "die", "und", "ist", "ich", "nicht", "sie", "mit", "danke", "ein"],
  pt: ["o", "que", "não", "é", "com", "uma", "obrigado", "você", "meu", "para"],
};

export function detectLanguage(text: string): string {
  const ws = words(text);
  let best = "en";
  let bestN = 0;
  for (const [lang, markers] of Object.entries(LANGUAGE_MARKERS)) {
    const n = ws.filter((w) => markers.includes(w)).length;
    if (n > bestN) {
      best = lang;
      bestN = n;
    }
  }
  return best;
}

export function titleOf(text: string, maxWords = 8): string {
  const first = sentences(text)[0] ?? text.trim();
  const ws = first.split(/\s+/).filter(Boolean);
  const t = ws.slice(0, maxWords).join(" ").replace(/[.,;:!?]+$/, "");
  return (ws.length > maxWords ? `${t}…` : t).slice(0, 120) || "Untitled";
}

export interface Analysis {
  title: string;
  summary: string;
  sentiment: Sentiment;
  topics: string[];
  action_items: string[];
  language: string;
}

export function analyze(text: string, style: SummaryStyle = "concise"): Analysis {
  return {
    title: titleOf(text),
    summary: extractiveSummary(text, style),
    sentiment: sentiment(text),
    topics: topics(text),
    action_items: actionItems(text),
    language: detectLanguage(text),
  };
}

// ---- grounded replies ----

export const OFFLINE_NOTE = "Parley's offline assistant (no AI model is connected)";

function promptParts(messages: ChatMessage[]) {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content).join("\n");
  const at = system.indexOf(KNOWLEDGE_MARKER);
  const knowledge = at >= 0 ? system.slice(at + KNOWLEDGE_MARKER.length) : "";
  const question = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  return { knowledge, question };
}

/** Knowledge sentences that share the most (stemmed) words with the question, best first. */
export function matchKnowledge(knowledge: string, question: string, max = 2): string[] {
  const asked = new Set(contentWords(question).map(stem));
  if (!asked.size) return [];
  return sentences(knowledge)
    .map((s, i) => ({ s, i, score: new Set(contentWords(s).map(stem).filter((w) => asked.has(w))).size }))
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, max)
    .map((x) => x.s);
}

export function groundedReply(messages: ChatMessage[]): string {
  const { knowledge, question } = promptParts(messages);
  const quotes = matchKnowledge(knowledge, question);
  if (quotes.length) {
    return `Here is what this workspace's knowledge says about that: ${quotes.map((q) => `“${q}”`).join(" ")} — ${OFFLINE_NOTE}, quoting the assistant's knowledge.`;
  }
  const asked = contentWords(question).slice(0, 6).join(" ");
  const about = asked ? ` about “${asked}”` : "";
  if (knowledge.trim()) {
    return `I'm ${OFFLINE_NOTE}. I can only quote this workspace's knowledge, and nothing in it matches your question${about}. A member of the team can follow up here.`;
  }
  return `I'm ${OFFLINE_NOTE}. This assistant has no knowledge to quote yet, so I can't answer your question${about} myself. A member of the team can follow up here.`;
}

// ---- the provider ----

export interface OfflineOptions {
  /** Pause between streamed words, for a demo that looks like streaming; 0 by default. */
  wordDelayMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

function truncate(text: string, maxTokens?: number): { text: string; cut: boolean } {
  if (!maxTokens || estimateTokens(text) <= maxTokens) return { text, cut: false };
  return { text: text.slice(0, Math.max(0, maxTokens * 4)).replace(/\s+\S*$/, ""), cut: true };
}

const aborted = () => new LlmError("aborted", "The request was cancelled.");

function answer(req: ChatRequest): Completion {
  const { text, cut } = truncate(groundedReply(req.messages), req.maxTokens);
  return { text, model: OFFLINE_MODEL, usage: estimateUsage(req.messages, text), finishReason: cut ? "length" : "stop" };
}

/** Fills a structured schema from the analysis, field by field, by the fields' names. */
function fillFromSchema(schema: z.ZodType, text: string): unknown {
  const json = z.toJSONSchema(schema, { unrepresentable: "any" }) as Record<string, any>;
  const a = analyze(text, /\bbullets\b/i.test(text) ? "bullets" : /\bdetailed\b/i.test(text) ? "detailed" : "concise");
  const pick = (key: string, node: Record<string, any>): unknown => {
    const k = key.toLowerCase();
    const en: unknown[] | undefined = node.enum;
    if (en) {
      const want = k.includes("sentiment") ? a.sentiment : k === "language" ? a.language : undefined;
      return want !== undefined && en.includes(want) ? want : en[0];
    }
    switch (node.type) {
      case "object":
        return Object.fromEntries(Object.entries(node.properties ?? {}).map(([p, n]) => [p, pick(p, n as Record<string, any>)]));
      case "array":
        if (/action|todo|task/.test(k)) return a.action_items;
        if (/topic|keyword|tag/.test(k)) return a.topics;
        return [];
      case "number":
      case "integer":
        return 0;
      case "boolean":
        return false;
      default:
        if (k === "title") return a.title;
        if (k === "language") return a.language;
        if (k.includes("sentiment")) return a.sentiment;
        if (/suggest|reply|answer/.test(k)) return groundedReply([{ role: "user", content: text }]);
        return a.summary;
    }
  };
  return pick("", json);
}

export function offlineLlm(opts: OfflineOptions = {}): Llm {
  const delay = opts.wordDelayMs ?? 0;
  return {
    provider: "offline",
    defaultModel: OFFLINE_MODEL,
    async complete(req) {
      if (req.signal?.aborted) throw aborted();
      return answer(req);
    },
    async *stream(req): AsyncGenerator<StreamEvent> {
      const done = answer(req);
      for (const piece of done.text.match(/\S+\s*/g) ?? []) {
        if (req.signal?.aborted) throw aborted();
        if (delay) await sleep(delay, req.signal);
        if (req.signal?.aborted) throw aborted();
        yield { type: "delta", text: piece };
      }
      yield { type: "done", completion: done };
    },
    async structured<T>(req: StructuredRequest<T>): Promise<Structured<T>> {
      if (req.signal?.aborted) throw aborted();
      const text = req.messages
        .filter((m) => m.role !== "system")
        .map((m) => m.content)
        .join("\n");
      const r = req.schema.safeParse(fillFromSchema(req.schema, text));
      if (!r.success) throw new LlmError("bad_response", "The offline provider cannot fill this schema.", r.error);
      const out = JSON.stringify(r.data);
      return { data: r.data, model: OFFLINE_MODEL, usage: estimateUsage(req.messages, out) };
    },
  };
}
