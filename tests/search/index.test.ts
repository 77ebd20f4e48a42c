// The search index stays current whatever writes the data (API routes, capture, direct SQL),
// in the same transaction; tenancy holds; hostile query strings never cause a 5xx; the list's
// `search` filter and the contacts' search use their indexes.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rowsOf } from "../../lib/db";
import { conversations, messages } from "../../schema";
import { openStream, readEvents } from "../chat/helpers";
import { createHarness, expectError } from "../support/harness";
import { conv, ids, msg, search } from "./helpers";

const h = await createHarness();

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

  it("conversations carry a GIN index over the generated search vector", async () => {
    const [row] = rowsOf<{ indexdef: string }>(await h.services.db.execute(sql`select indexdef from pg_indexes where indexname = 'conversations_search_idx'`));
    expect(row!.indexdef).toMatch(/USING gin \(search_vector\)/);
    const gen = rowsOf<{ g: string }>(await h.services.db.execute(sql`select attgenerated as g from pg_attribute where attrelid = 'conversations'::regclass and attname = 'search_vector'`));
    expect(gen[0]!.g).toBe("s");
  });
});
