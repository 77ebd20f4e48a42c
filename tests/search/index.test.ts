// The search index stays current whatever writes the data (API routes, capture, direct SQL),
// in the same transaction; tenancy holds; hostile query strings never cause a 5xx; the list's
// `search` filter and the contacts' search use their indexes.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rowsOf } from "../../lib/db";
import { conversations, messages } from "../../schema";
import { openStream, readEvents } from "../chat/helpers";
import { createHarness, expectError } from "../support/harness";
import { conv, ids, msg, search, setSummary } from "./helpers";

const h = await createHarness();

/** The workspace's conversations whose search columns differ from a fresh computation of them. */
const staleIn = async (workspaceId: string) =>
  rowsOf<{ id: string }>(
    await h.services.db.execute(sql`
      select id from conversations
      where workspace_id = ${workspaceId}
        and (search_vector is distinct from parley_conversation_vector(search_config, title, summary, content, messages_tsv)
          or search_bigrams is distinct from parley_bigrams(parley_conversation_vector(search_config, title, summary, content, messages_tsv)))`),
  ).map((r) => r.id);

describe("search index: kept current", () => {
  it("messages added, edited and deleted, titles changed and conversations deleted show at once", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Printer trouble" });
    expect(await ids(h, t, "toner")).toEqual([]);
    const m1 = await msg(h, t, a, "The toner cartridge leaks");
    expect(await ids(h, t, "toner")).toEqual([a]);
    const m2 = await msg(h, t, a, "Also the scanner jams", "agent");
    expect(await ids(h, t, "scanners")).toEqual([a]);
    expect(await ids(h, t, "toner scanner")).toEqual([a]);

    // An edit (any code path: here plain SQL) replaces the old words by the new ones.
    await h.services.db.update(messages).set({ content: "The ink cartridge leaks" }).where(eq(messages.id, m1));
    expect(await ids(h, t, "toner")).toEqual([]);
    expect(await ids(h, t, "ink")).toEqual([a]);
    expect(await ids(h, t, "scanner")).toEqual([a]);
    // Changing something else about a message leaves its words alone.
    await h.services.db.update(messages).set({ status: "delivered" }).where(eq(messages.id, m2));
    expect(await ids(h, t, "scanner")).toEqual([a]);

    await h.services.db.delete(messages).where(eq(messages.id, m2));
    expect(await ids(h, t, "scanner")).toEqual([]);
    expect(await ids(h, t, "ink")).toEqual([a]);

    expect((await h.call("PATCH", `/v1/conversations/${a}`, { token: t.token, body: { title: "Fax machine" } })).status).toBe(200);
    expect(await ids(h, t, "printer")).toEqual([]);
    expect(await ids(h, t, "fax")).toEqual([a]);

    expect((await h.call("DELETE", `/v1/conversations/${a}`, { token: t.token })).status).toBe(200);
    expect(await ids(h, t, "ink")).toEqual([]);
    expect(await ids(h, t, "fax")).toEqual([]);
  });

  it("captured messages are searchable, and a message moved to another conversation moves its words", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "First" });
    const b = await conv(h, t, { title: "Second" });
    const r = await h.call("POST", "/v1/messages/capture", {
      token: t.token,
      body: { messages: [{ conversation_id: a, source: "email", sender_type: "contact", content: "Warranty claim for the blender", external_id: "x-1" }] },
    });
    expect(r.status, r.text).toBe(200);
    expect(await ids(h, t, "blenders")).toEqual([a]);
    await h.services.db.update(messages).set({ conversationId: b }).where(eq(messages.conversationId, a));
    expect(await ids(h, t, "blender")).toEqual([b]);
  });

  it("a streamed chat's messages, indexed by the statement that stores them, are indexed once", async () => {
    const t = await h.signUp();
    const res = await openStream(h, t.token, { message: "My dishwasher floods the kitchen floor" });
    const events = await readEvents(res);
    const id = (events.find((e) => e.event === "message_start")!.data as { conversation_id: string }).conversation_id;
    expect(await ids(h, t, "dishwashers")).toEqual([id]);
    // Exactly what re-indexing every message from scratch gives: no word counted twice.
    const [row] = rowsOf<{ same: boolean; n: number }>(
      await h.services.db.execute(
        sql`select messages_tsv = parley_messages_tsv(id, search_config) as same, length(messages_tsv) as n from conversations where id = ${id}`,
      ),
    );
    expect(row).toMatchObject({ same: true });
    expect(Number(row!.n)).toBeGreaterThan(4);
    // The setting that skipped it lived only in that statement's transaction: a later message is indexed.
    await msg(h, t, id, "Also the oven timer beeps");
    expect(await ids(h, t, "oven")).toEqual([id]);
    // A follow-up in the chat is indexed by its own statement, once too.
    await readEvents(await openStream(h, t.token, { message: "And the fridge hums loudly", conversation_id: id }));
    expect(await ids(h, t, "fridge")).toEqual([id]);
    const [again] = rowsOf<{ same: boolean }>(
      await h.services.db.execute(sql`select messages_tsv = parley_messages_tsv(id, search_config) as same from conversations where id = ${id}`),
    );
    expect(again).toMatchObject({ same: true });
  });

  it("a statement that indexed one message itself still has the trigger index the others it inserts", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Mixed" });
    const own = `msg_own_${Date.now()}`;
    await h.services.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('parley.indexed_message', ${own}, true)`);
      await tx.insert(messages).values([
        { id: own, workspaceId: t.workspaceId, conversationId: a, senderType: "contact", content: "walrus" },
        { id: `msg_other_${Date.now()}`, workspaceId: t.workspaceId, conversationId: a, senderType: "contact", content: "narwhal" },
      ]);
    });
    // The named message was the statement's to index (it did not), the other one the trigger's.
    expect(await ids(h, t, "narwhal")).toEqual([a]);
    expect(await ids(h, t, "walrus")).toEqual([]);
  });

  it("the trigger keeps both search columns equal to what the conversation is made of, through every kind of write", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Boiler noise", content: "The boiler bangs every morning at six" });
    const b = await conv(h, t, { title: "Invoice copy" });
    const c = (await readEvents(await openStream(h, t.token, { message: "My parcel went to the wrong address" }))).find((e) => e.event === "message_start")!;
    const chat = (c.data as { conversation_id: string }).conversation_id;
    const stale = () => staleIn(t.workspaceId);
    expect(await stale()).toEqual([]);

    const m = await msg(h, t, a, "Still banging after the engineer came");
    await msg(h, t, b, "Please send the March invoice again", "agent");
    await readEvents(await openStream(h, t.token, { message: "It was meant for flat 4, not flat 14", conversation_id: chat }));
    await h.call("PATCH", `/v1/conversations/${b}`, { token: t.token, body: { title: "Invoice copy for March" } });
    await setSummary(h, a, { title: "Noisy boiler", content: "Boiler bangs at six", topics: ["heating"], action_items: ["send engineer"] });
    await h.services.db.update(messages).set({ content: "Still knocking after the engineer came" }).where(eq(messages.id, m));
    await h.services.db.update(conversations).set({ content: "The boiler knocks" }).where(eq(conversations.id, a));
    expect(await stale()).toEqual([]);
    expect(await ids(h, t, "knocking")).toEqual([a]);
    expect(await ids(h, t, "heating")).toEqual([a]);
    expect(await ids(h, t, '"flat 4"')).toEqual([chat]);

    // Writes that change none of it leave the columns as they are; a write to them is ignored.
    await h.call("POST", `/v1/conversations/${a}/status`, { token: t.token, body: { status: "resolved" } });
    await h.call("POST", `/v1/conversations/${b}/tags`, { token: t.token, body: { tag: "billing" } });
    await h.services.db.execute(sql`update conversations set unread_count = 0, search_vector = 'bogus'::tsvector, search_bigrams = ''::tsvector where id = ${b}`);
    expect(await stale()).toEqual([]);
    expect(await ids(h, t, "bogus")).toEqual([]);
    expect(await ids(h, t, '"march invoice"')).toEqual([b]);

    // A language switch recomputes every conversation of the workspace with the new configuration.
    expect((await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { search_language: "simple" } } })).status).toBe(200);
    expect(await stale()).toEqual([]);
    const [cfg] = rowsOf<{ cfg: string }>(await h.services.db.execute(sql`select search_config::text as cfg from conversations where id = ${a}`));
    expect(cfg!.cfg).toMatch(/simple/);
    await h.services.db.delete(messages).where(eq(messages.id, m));
    expect(await stale()).toEqual([]);
  });

  it("appended messages extend both columns from their old values exactly as a fresh computation would, past the 16,383rd word", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Router drops", content: "The router drops the connection" });
    const b = await conv(h, t, { title: "Late parcel" });
    const stale = () => staleIn(t.workspaceId);
    const capture = async (items: Array<{ conversation_id: string; content: string }>) => {
      const r = await h.call("POST", "/v1/messages/capture", { token: t.token, body: { messages: items.map((m) => ({ ...m, source: "api", sender_type: "contact" })) } });
      expect(r.status, r.text).toBe(200);
    };
    // One at a time, several per statement and per conversation, a message of stopwords only, one
    // starting with a stopword (no pair across the boundary), one of punctuation; then a chat's turns.
    await msg(h, t, a, "Restarting the router helps");
    await capture([
      { conversation_id: a, content: "the and of" },
      { conversation_id: b, content: "Parcel tracking stopped" },
      { conversation_id: a, content: "The modem lights blink" },
      { conversation_id: b, content: "?!" },
      { conversation_id: b, content: "Courier says delivered" },
    ]);
    const c = (await readEvents(await openStream(h, t.token, { message: "Broken kettle lid" }))).find((e) => e.event === "message_start")!;
    const chat = (c.data as { conversation_id: string }).conversation_id;
    await readEvents(await openStream(h, t.token, { message: "The lid hinge snapped", conversation_id: chat }));
    expect(await stale()).toEqual([]);
    expect(await ids(h, t, '"drops the connection restarting"')).toEqual([a]);
    expect(await ids(h, t, '"stopped courier"')).toEqual([b]);

    // Past PostgreSQL's last position (16,383): long messages take the conversation over it.
    const words = (n: number, from: number) => Array.from({ length: n }, (_, i) => `w${(from + i) % 997}x`).join(" ");
    for (let i = 0; i < 6; i++) await msg(h, t, a, words(3000, i * 3000));
    await msg(h, t, a, "Zebra crossing words after the cap");
    expect(await stale()).toEqual([]);
    expect(await ids(h, t, '"modem lights blink"')).toEqual([a]);
  });

  it("the index changes in the same transaction as the message: a rolled-back insert leaves no words", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Rollback" });
    await h.services.db
      .transaction(async (tx) => {
        await tx.insert(messages).values({ id: `msg_rb_${Date.now()}`, workspaceId: t.workspaceId, conversationId: a, senderType: "contact", content: "zeppelin" });
        const [seen] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from conversations where id = ${a} and search_vector @@ 'zeppelin'::tsquery`));
        expect(Number(seen!.n)).toBe(1);
        throw new Error("roll back");
      })
      .catch(() => {});
    expect(await ids(h, t, "zeppelin")).toEqual([]);
  });

  it("a summary written by the summary job is searchable", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Plain" });
    await h.services.db
      .update(conversations)
      .set({ summary: { title: "Chargeback", content: "Disputed a chargeback", sentiment: "negative", topics: ["billing"], action_items: ["Call the bank"], language: "en", style: "concise" } })
      .where(eq(conversations.id, a));
    expect(await ids(h, t, "chargebacks")).toEqual([a]);
    expect(await ids(h, t, "bank")).toEqual([a]);
  });
});

describe("search: tenancy and security", () => {
  it("another workspace's words never match, with any query or filter", async () => {
    const mine = await h.signUp();
    const other = await h.signUp();
    const theirs = await conv(h, other, { title: "Secret xylophone project" });
    await msg(h, other, theirs, "xylophone budget approved");
    const ours = await conv(h, mine, { title: "Our marimba" });
    expect(await ids(h, mine, "xylophone")).toEqual([]);
    expect(await ids(h, mine, "xylophone or marimba")).toEqual([ours]);
    const all = await search(h, mine, { query: "", per_page: 100 });
    expect(JSON.stringify(all)).not.toContain(theirs);
    expect(all.meta.total).toBe(1);
    expect(await ids(h, other, "xylophone")).toEqual([theirs]);
    // The list's search filter too.
    const list = await h.call("GET", "/v1/conversations?search=xylophone", { token: mine.token });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([]);
  });

  it("needs credentials; API keys need the write scope, as for every POST", async () => {
    const t = await h.signUp();
    expectError(await h.call("POST", "/v1/conversations/search", { body: { query: "x" } }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/conversations/search", { body: { query: "x" }, token: "nope" }), 401, "unauthorized");
    const key = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "rw", scopes: ["read", "write"] } });
    const r = await h.call("POST", "/v1/conversations/search", { body: { query: "x" }, headers: { "x-api-key": key.body.key } });
    expect(r.status, r.text).toBe(200);
  });

  it("hostile query strings never cause a 5xx", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Normal refund request" });
    await msg(h, t, a, "refund please");
    const hostile = [
      "",
      " ",
      '"',
      '""',
      '"unclosed phrase',
      "'",
      "''",
      ":",
      "refund:*",
      "a:b:c",
      "&",
      "&&",
      "|",
      "!",
      "!!refund",
      "-",
      "--",
      "- -refund",
      "-refund",
      "or",
      "or or or",
      "refund or",
      "()",
      "(refund",
      "refund)",
      "\\",
      "\\\\",
      "refund\\",
      "<->",
      "<2>",
      "refund <-> please",
      "refund & please | !x",
      "'; drop table conversations; --",
      "%_%",
      "*",
      "\u0002\u0003\u0004\u0005",
      "😀 refund 🎉",
      "ümlaut façade naïve",
      "日本語のテキスト",
      "a".repeat(1000),
      `${"word ".repeat(150)}refund`,
      "x".repeat(3000).slice(0, 1000),
      "the and of",
      "\t\n\r",
      "refund\u200b",
      "{\"json\": true}",
      "<script>alert(1)</script>",
    ];
    for (const query of hostile) {
      const r = await h.call("POST", "/v1/conversations/search", { token: t.token, body: { query } });
      expect(r.status, `${JSON.stringify(query)} → ${r.status} ${r.text.slice(0, 200)}`).toBe(200);
      expect(Array.isArray(r.body.data)).toBe(true);
      const list = await h.call("GET", `/v1/conversations?search=${encodeURIComponent(query.slice(0, 200))}`, { token: t.token });
      expect(list.status, `list ${JSON.stringify(query)} → ${list.status} ${list.text.slice(0, 200)}`).toBeLessThan(500);
    }
    // Some of those still find what they say.
    expect(await ids(h, t, "-")).toEqual([]);
    expect(await ids(h, t, '"refund please')).toEqual([a]); // an unclosed quote still makes a phrase
    expect(await ids(h, t, "refund:*")).toEqual([a]);
    expect(await ids(h, t, "😀 refund 🎉")).toEqual([a]);
    expect(await ids(h, t, "the and of")).toEqual([]);
    for (const body of [{ query: "x\u0000y" }, { query: null }, { query: ["a"] }, { query: "x", filters: null }, { query: "x", filters: { tags: [null] } }, { query: "x", page: 1e20 }, []]) {
      const r = await h.call("POST", "/v1/conversations/search", { token: t.token, body });
      expect(r.status, `${JSON.stringify(body)} → ${r.status} ${r.text.slice(0, 200)}`).toBe(422);
    }
  });
});

describe("indexes", () => {
  it("contacts' name, email and phone have trigram indexes, and partial names and emails are found", async () => {
    const t = await h.signUp();
    const rows = await h.services.db.execute(sql`select indexname from pg_indexes where tablename = 'contacts' and indexdef like '%gin_trgm_ops%' order by 1`);
    const names = rowsOf<{ indexname: string }>(rows).map((r) => r.indexname);
    expect(names).toEqual(["contacts_email_trgm_idx", "contacts_name_trgm_idx", "contacts_phone_trgm_idx"]);
    const r = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Margaret Hamilton", email: "margaret.hamilton@apollo.example", phone: "+1 415 555 0100" } });
    expect(r.status, r.text).toBe(201);
    for (const q of ["garet", "HAMIL", "apollo.ex", "555 01"]) {
      const found = await h.call("GET", `/v1/contacts?search=${encodeURIComponent(q)}`, { token: t.token });
      expect(found.status).toBe(200);
      expect(found.body.data.map((c: { id: string }) => c.id), q).toEqual([r.body.id]);
    }
  });

  it("conversations carry GIN indexes over the search vector and its word pairs, columns kept by a trigger", async () => {
    const defs = rowsOf<{ indexdef: string }>(
      await h.services.db.execute(sql`select indexdef from pg_indexes where indexname in ('conversations_search_idx', 'conversations_search_bigrams_idx') order by indexname`),
    );
    expect(defs.map((d) => d.indexdef)).toEqual([expect.stringMatching(/USING gin \(search_bigrams\)/), expect.stringMatching(/USING gin \(search_vector\)/)]);
    const gen = rowsOf<{ g: string }>(
      await h.services.db.execute(sql`select attgenerated as g from pg_attribute where attrelid = 'conversations'::regclass and attname in ('search_vector', 'search_bigrams')`),
    );
    expect(gen.map((r) => r.g)).toEqual(["", ""]);
  });
});
