// POST /v1/conversations/search: what users mean is found (stemming, phrases, or, exclusions),
// the best hit comes first, snippets are highlighted and HTML-safe, every filter and sort holds.
import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { conv, ids, msg, search, setCreatedAt, setSummary } from "./helpers";

const h = await createHarness();

describe("search: matching", () => {
  it("finds words in titles, summaries, content and messages, with stemming", async () => {
    const t = await h.signUp();
    const inTitle = await conv(h, t, { title: "Parcel arrived damaged" });
    const inContent = await conv(h, t, { title: "Call notes", content: "The customer says the courier was rude." });
    const inMessage = await conv(h, t, { title: "Question" });
    await msg(h, t, inMessage, "My refund was delayed twice.");
    const inSummary = await conv(h, t, { title: "Chat" });
    await setSummary(h, inSummary, { title: "Loyalty points", content: "Asked about loyalty points expiring.", topics: ["rewards"] });

    expect(await ids(h, t, "parcels")).toEqual([inTitle]);
    expect(await ids(h, t, "couriers")).toEqual([inContent]);
    expect(await ids(h, t, "delays")).toEqual([inMessage]); // delays → delay ← delayed
    expect(await ids(h, t, "refunding")).toEqual([inMessage]);
    expect(await ids(h, t, "expire")).toEqual([inSummary]);
    expect(await ids(h, t, "rewards")).toEqual([inSummary]); // summary topics are indexed too
    expect(await ids(h, t, "nothing-like-this-anywhere")).toEqual([]);
  });

  it("quoted phrases need the words together, or widens, -word excludes", async () => {
    const t = await h.signUp();
    const phrase = await conv(h, t, { title: "Ticket one" });
    await msg(h, t, phrase, "The late parcel finally came");
    const apart = await conv(h, t, { title: "Ticket two" });
    await msg(h, t, apart, "The parcel was late again");
    const invoice = await conv(h, t, { title: "Ticket three" });
    await msg(h, t, invoice, "Please resend the invoice");
    const refund = await conv(h, t, { title: "Ticket four" });
    await msg(h, t, refund, "The late parcel needs a refund");

    expect((await ids(h, t, "late parcel")).sort()).toEqual([phrase, apart, refund].sort());
    expect((await ids(h, t, '"late parcel"')).sort()).toEqual([phrase, refund].sort());
    expect((await ids(h, t, "invoice or refund")).sort()).toEqual([invoice, refund].sort());
    expect((await ids(h, t, "parcel -refund")).sort()).toEqual([phrase, apart].sort());
    expect((await ids(h, t, '"late parcel" -refund')).sort()).toEqual([phrase]);
  });

  it("ranks the best hit first: title over summary over messages, and scores lie in (0, 1]", async () => {
    const t = await h.signUp();
    const inMessage = await conv(h, t, { title: "Customer called" });
    await msg(h, t, inMessage, "Some words first. Then: shipping delays are annoying, and more words after it to pad.");
    const inTitle = await conv(h, t, { title: "Shipping delays in March" });
    await msg(h, t, inTitle, "Hello, any news?");
    const inSummary = await conv(h, t, { title: "Follow-up" });
    await setSummary(h, inSummary, { title: "Order status", content: "Customer upset about shipping delays on two orders." });
    const once = await conv(h, t, { title: "Other" });
    await msg(h, t, once, "We ship worldwide. Nothing about time here at all, honestly.");

    const r = await search(h, t, { query: "shipping delays" });
    expect(r.data.map((d) => d.id)).toEqual([inTitle, inSummary, inMessage]);
    const scores = r.data.map((d) => d.score);
    for (const s of scores) expect(s > 0 && s <= 1).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores[0]!).toBeGreaterThan(scores[2]!);
    // "or" brings the single-word hit in, below the hits with both words.
    const wide = (await search(h, t, { query: "shipping or delays" })).data.map((d) => d.id);
    expect(wide.slice(0, 3)).toEqual([inTitle, inSummary, inMessage]);
    expect(wide[3]).toBe(once);
  });

  it("the workspace's simple configuration keeps words as written (no stemming, stop words searchable)", async () => {
    const t = await h.signUp();
    const r = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { search_language: "simple" } } });
    expect(r.status, r.text).toBe(200);
    const a = await conv(h, t, { title: "Lieferung verspätet" });
    await msg(h, t, a, "The delivery was delayed");
    expect(await ids(h, t, "verspätet")).toEqual([a]);
    expect(await ids(h, t, "delayed")).toEqual([a]);
    expect(await ids(h, t, "delays")).toEqual([]);
    expect(await ids(h, t, "the")).toEqual([a]);
  });

  it("switching the workspace's language re-indexes its conversations", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Delayed parcel" });
    await msg(h, t, a, "It is still waiting");
    expect(await ids(h, t, "waits")).toEqual([a]);
    await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { search_language: "simple" } } });
    expect(await ids(h, t, "waits")).toEqual([]);
    expect(await ids(h, t, "waiting")).toEqual([a]);
    await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { search_language: "english" } } });
    expect(await ids(h, t, "waits")).toEqual([a]);
  });
});

describe("search: snippets", () => {
  it("marks the matched words and HTML-escapes everything else", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Weird input" });
    await msg(h, t, a, `<script>alert("x")</script> & <b>bold</b> 'quotes' — I want a refund <img src=x onerror=alert(1)> thanks everyone`);
    const [hit] = (await search(h, t, { query: "refund" })).data;
    expect(hit!.id).toBe(a);
    expect(hit!.snippet).toContain("<mark>refund</mark>");
    expect(hit!.snippet).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(hit!.snippet).toContain("&amp; &lt;b&gt;bold&lt;/b&gt; &#39;quotes&#39;");
    expect(hit!.snippet).toContain("&lt;img src=x onerror=alert(1)&gt;");
    // The only tags left are the marks.
    expect(hit!.snippet.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]/);
  });

  it("text that looks like the highlight sentinels or marks cannot inject markup", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Sentinels" });
    await msg(h, t, a, "refund \u0002<mark>fake</mark>\u0003 goodbye friends");
    const [hit] = (await search(h, t, { query: "refund" })).data;
    expect(hit!.snippet).toContain("<mark>refund</mark>");
    expect(hit!.snippet).toContain("&lt;mark&gt;fake&lt;/mark&gt;");
    expect(hit!.snippet.match(/<mark>/g)).toHaveLength(1);
  });

  it("stemmed forms and phrase words are highlighted where they occur", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Status" });
    await msg(h, t, a, "Your order was delayed by the courier, sorry for the delay.");
    const [hit] = (await search(h, t, { query: "delays" })).data;
    expect(hit!.snippet).toContain("<mark>delayed</mark>");
    expect(hit!.snippet).toContain("<mark>delay</mark>");
  });
});

describe("search: filters, sort and pages", () => {
  it("every filter narrows, alone and combined", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Refund A", source: "email" });
    const b = await conv(h, t, { title: "Refund B", source: "web" });
    const c = await conv(h, t, { title: "Refund C", source: "chat" });
    await setCreatedAt(h, a, "2026-01-10T10:00:00Z");
    await setCreatedAt(h, b, "2026-02-10T10:00:00Z");
    await setCreatedAt(h, c, "2026-03-10T10:00:00Z");
    await setSummary(h, a, { sentiment: "negative", topics: ["Billing", "shipping"] });
    await setSummary(h, b, { sentiment: "positive", topics: ["login"] });
    expect((await h.call("POST", `/v1/conversations/${b}/status`, { token: t.token, body: { status: "resolved" } })).status).toBe(200);
    expect((await h.call("POST", `/v1/conversations/${a}/tags`, { token: t.token, body: { tag: "VIP" } })).status).toBe(201);
    expect((await h.call("POST", `/v1/conversations/${c}/tags`, { token: t.token, body: { tag: "urgent" } })).status).toBe(201);

    const f = async (filters: Record<string, unknown>) => (await ids(h, t, "refund", { filters })).sort();
    expect(await f({})).toEqual([a, b, c].sort());
    expect(await f({ date_from: "2026-02-01" })).toEqual([b, c].sort());
    expect(await f({ date_to: "2026-02-10" })).toEqual([a, b].sort()); // a date includes its whole day
    expect(await f({ date_to: "2026-02-10T09:59:59Z" })).toEqual([a]);
    expect(await f({ date_from: "2026-02-10T10:00:00Z", date_to: "2026-02-10T10:00:00Z" })).toEqual([b]);
    expect(await f({ topics: ["billing"] })).toEqual([a]);
    expect(await f({ topics: "LOGIN" })).toEqual([b]);
    expect(await f({ topics: ["login", "shipping"] })).toEqual([a, b].sort());
    expect(await f({ sentiment: "negative" })).toEqual([a]);
    expect(await f({ sentiment: ["negative", "positive"] })).toEqual([a, b].sort());
    expect(await f({ status: "resolved" })).toEqual([b]);
    expect(await f({ status: ["open", "pending"] })).toEqual([a, c].sort());
    expect(await f({ source: "chat" })).toEqual([c]);
    expect(await f({ source: ["email", "web"] })).toEqual([a, b].sort());
    expect(await f({ tags: ["vip"] })).toEqual([a]);
    expect(await f({ tags: ["vip", "urgent"] })).toEqual([a, c].sort());
    expect(await f({ tags: ["vip"], date_from: "2026-02-01" })).toEqual([]);
    expect(await f({ source: ["email", "chat"], status: "open", tags: "urgent", date_from: "2026-03-01", date_to: "2026-03-31" })).toEqual([c]);
    // Filters alone, with an empty query: everything that passes them, newest first.
    expect(await ids(h, t, "", { filters: { status: ["open", "pending"] } })).toEqual([c, a]);
  });

  it("sorts by relevance, created_at and -created_at, and pages with total and took_ms", async () => {
    const t = await h.signUp();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await conv(h, t, { title: i === 2 ? "Invoice invoice question" : `Note ${i}` });
      await msg(h, t, id, "about the invoice");
      await setCreatedAt(h, id, `2026-04-0${i + 1}T00:00:00Z`);
      made.push(id);
    }
    expect((await ids(h, t, "invoice", { sort: "created_at" }))).toEqual(made);
    expect((await ids(h, t, "invoice", { sort: "-created_at" }))).toEqual([...made].reverse());
    expect((await ids(h, t, "invoice"))[0]).toBe(made[2]);

    const p1 = await search(h, t, { query: "invoice", sort: "-created_at", per_page: 2 });
    expect(p1.meta).toMatchObject({ page: 1, per_page: 2, total: 5, total_pages: 3 });
    expect(typeof p1.meta.took_ms).toBe("number");
    expect(p1.meta.took_ms).toBeGreaterThanOrEqual(0);
    const p3 = await search(h, t, { query: "invoice", sort: "-created_at", per_page: 2, page: 3 });
    expect(p3.data.map((d) => d.id)).toEqual([made[0]]);
    const p9 = await search(h, t, { query: "invoice", per_page: 2, page: 9 });
    expect(p9.data).toEqual([]);
    expect(p9.meta.total).toBe(5);
    const all = [p1, await search(h, t, { query: "invoice", sort: "-created_at", per_page: 2, page: 2 }), p3].flatMap((p) => p.data.map((d) => d.id));
    expect(all).toEqual([...made].reverse());
    // Hits carry status, source and created_at.
    expect(p1.data[0]).toMatchObject({ status: "open", source: "api", created_at: "2026-04-05T00:00:00.000Z" });
  });

  it("refuses bad bodies with 422 naming the field", async () => {
    const t = await h.signUp();
    const bad = [
      [{ query: "x", sort: "score" }, "sort"],
      [{ query: "x", per_page: 101 }, "per_page"],
      [{ query: "x", page: 0 }, "page"],
      [{ query: 42 }, "query"],
      [{ query: "x".repeat(1001) }, "query"],
      [{ query: "x", filters: { status: "archived" } }, "filters.status"],
      [{ query: "x", filters: { sentiment: ["angry"] } }, "filters.sentiment"],
      [{ query: "x", filters: { date_from: "yesterday" } }, "filters.date_from"],
      [{ query: "x", filters: { colour: "red" } }, "filters"],
      [{ query: "x", filters: { tags: [] } }, "filters.tags"],
      [{ query: "x", filters: { date_from: "2026-03-02", date_to: "2026-03-01" } }, "filters.date_from"],
    ] as const;
    for (const [body, field] of bad) {
      const e = expectError(await h.call("POST", "/v1/conversations/search", { token: t.token, body }), 422, "validation_error");
      expect(Object.keys(e.details.fields).some((k) => k.startsWith(field)), `${JSON.stringify(body)} → ${JSON.stringify(e.details)}`).toBe(true);
    }
    expectError(await h.call("POST", "/v1/conversations/search", { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });
});
