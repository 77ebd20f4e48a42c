// Snippets on long conversations: the highlighted passage is the one that matches, its length is
// bounded, and the text-search work per hit is bounded (issue 16 item 5: a hit of 500 messages
// cost ~300 ms when every message was parsed). The work is asserted as counted by the query
// itself (passages parsed, characters given to ts_headline), never as wall time.
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { compileQuery, SNIPPET_LIMITS, searchConversations, snippetPlan } from "../../functions/conversations/search.service";
import { createHarness, type Tenant } from "../support/harness";
import { conv, msg, search } from "./helpers";

const h = await createHarness();
const words = ["order", "shipping", "refund", "package", "delivery", "customer", "account", "billing", "address", "tracking"];
const filler = (i: number, n = 140) => `Message ${i}: ${Array.from({ length: n }, (_, k) => words[(i * 7 + k) % 10]).join(" ")}`;

/** `count` messages of ~1 KB straight into the table (the triggers index them as the API would). */
async function longThread(t: Tenant, count: number, special: Record<number, string> = {}, title = "Long thread"): Promise<{ id: string; messageIds: string[] }> {
  const id = await conv(h, t, { title });
  const messageIds = Array.from({ length: count }, (_, i) => `msg_${id}_${i + 1}`);
  const rows = messageIds.map((mid, i) => sql`(${mid}, ${t.workspaceId}, ${id}, 'contact', ${special[i + 1] ?? filler(i)}, ${new Date(Date.UTC(2026, 0, 1, 0, 0, i + 1)).toISOString()}::timestamptz)`);
  await h.services.db.execute(sql`insert into messages (id, workspace_id, conversation_id, sender_type, content, created_at) values ${sql.join(rows, sql`, `)}`);
  return { id, messageIds };
}

async function sources(t: Tenant, query: string) {
  const db = h.services.db;
  const q = await compileQuery(db, t.workspaceId, query);
  return searchConversations(db, t.workspaceId, q, {}, "relevance", { page: 1, per_page: 20 });
}

describe("search: snippets of long conversations", () => {
  it("shows the message that matches, highlighted, even far into a long message", async () => {
    const t = await h.signUp();
    // The only match: the end of a 3,000-character message, the 150th of 200.
    const { id, messageIds } = await longThread(t, 200, { 150: `${filler(3, 400)} then a zebracorn appeared` });
    const r = await sources(t, "zebracorn");
    expect(r.hits.map((x) => x.id)).toEqual([id]);
    expect(r.hits[0]!.snippet).toContain("<mark>zebracorn</mark>");
    expect(r.hits[0]!.snippet).toContain("appeared");
    expect(r.snippetSources[0]).toMatchObject({ kind: "message", messageId: messageIds[149] });
    // Through the API, the same.
    const api = await search(h, t, { query: "zebracorn" });
    expect(api.data[0]!.snippet).toBe(r.hits[0]!.snippet);
  });

  it("bounds the snippet's length, whatever the message", async () => {
    const t = await h.signUp();
    // A match followed by a 6,000-character token (no spaces: one "word" for ts_headline).
    await longThread(t, 3, { 2: `a unicornfish here ${"x".repeat(6000)} and more` });
    const r = await sources(t, "unicornfish");
    expect(r.hits[0]!.snippet).toContain("<mark>unicornfish</mark>");
    expect(r.hits[0]!.snippet.length).toBeLessThanOrEqual(SNIPPET_LIMITS.windowChars + SNIPPET_LIMITS.titleChars + 100);
    expect(r.snippetSources[0]!.headlineChars).toBeLessThanOrEqual(SNIPPET_LIMITS.windowChars + SNIPPET_LIMITS.titleChars + 3);
  });

  it("a title match parses nothing else; a late match parses a bounded number of passages", async () => {
    const t = await h.signUp();
    const inTitle = await longThread(t, 120, {}, "About the narwhal");
    const late = await longThread(t, 120, { 110: "the narwhal was seen at the pier" });
    const r = await sources(t, "narwhal");
    expect(r.hits.map((x) => x.id).sort()).toEqual([inTitle.id, late.id].sort());
    const by = new Map(r.snippetSources.map((s) => [s.id, s]));
    expect(by.get(inTitle.id)).toMatchObject({ kind: "title", parsed: 1 });
    expect(by.get(late.id)).toMatchObject({ kind: "message", messageId: late.messageIds[109], parsed: 1 });
    for (const hit of r.hits) expect(hit.snippet).toContain("<mark>narwhal</mark>");

    // A word in every message: only the first candidates are parsed, never all 120.
    const every = await sources(t, "refund");
    for (const s of every.snippetSources) expect(s.parsed).toBeLessThanOrEqual(2 * SNIPPET_LIMITS.candidates);
    for (const hit of every.hits) expect(hit.snippet).toContain("<mark>refund</mark>");
  });

  it("words found in different messages, stemmed forms and negations still get a highlighted snippet", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Split" });
    await msg(h, t, a, "The walrus is hungry.");
    await msg(h, t, a, "We fed the penguins, to their happiness.");
    const across = await sources(t, "walrus penguin");
    expect(across.hits.map((x) => x.id)).toEqual([a]);
    expect(across.hits[0]!.snippet).toMatch(/<mark>(walrus|penguins)<\/mark>/);

    const stemmed = await sources(t, "happy");
    expect(stemmed.hits[0]!.snippet).toContain("<mark>happiness</mark>");

    const negated = await sources(t, "walrus -octopus");
    expect(negated.hits[0]!.snippet).toContain("<mark>walrus</mark>");
  });

  it("the substring test is a necessary condition of a match: stems change at most two trailing letters", () => {
    expect(snippetPlan("pg_catalog.english", "'happi' & 'abil'")).toEqual({ patterns: ["hap", "ab"], anyQuery: "'happi' | 'abil'" });
    expect(snippetPlan("pg_catalog.english", "'die'").patterns).toEqual(["d"]); // dying → die
    expect(snippetPlan("pg_catalog.simple", "'happy' <-> 'day'").patterns).toEqual(["happy", "day"]);
    expect(snippetPlan("pg_catalog.english", "'walrus' & !'octopus'").patterns).toBeNull();
  });
});
