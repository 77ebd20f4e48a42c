import { eq } from "drizzle-orm";
import { PDFDocument } from "pdf-lib";
import { afterEach, describe, expect, it } from "vitest";
import { ExportAccepted, ExportObject } from "../../functions/exports/schemas";
import { csvCell } from "../../functions/jobs/export-render";
import { chunkOverride } from "../../functions/jobs/exports";
import { conversations } from "../../schema";
import { createHarness, expectError, type Tenant } from "../support/harness";
import { expectInvisible } from "../support/tenancy";
import { download, parseCsv, pdfText, pdftotext, runExport, seedConversation } from "./helpers";

const h = await createHarness();

afterEach(() => {
  chunkOverride.rows = null;
});

async function corpus(t: Tenant) {
  const a = await seedConversation(h, t, {
    title: "=HYPERLINK(\"http://evil\",\"click\")",
    tags: ["vip"],
    messages: ["Hello, my parcel \"arrived\" broken,\r\nplease help", "+1 555 0100"],
    summary: { sentiment: "negative", topics: ["shipping"], content: "@SUM(A1) damaged parcel" },
    createdAt: new Date("2026-11-02T10:00:00Z"),
  });
  const b = await seedConversation(h, t, { title: "Invoice question, December", source: "email", status: "resolved", summary: { sentiment: "neutral", topics: ["billing"], content: "-asks about VAT" }, createdAt: new Date("2026-11-10T10:00:00Z") });
  const c = await seedConversation(h, t, { title: "Olá — café ☕ naïve", messages: ["Ünïcödé 你好"], createdAt: new Date("2026-12-05T10:00:00Z") });
  return { a, b, c };
}

describe("POST /v1/exports → csv", () => {
  it("answers 202 processing, then completes with progress 100, size and a signed link to an RFC 4180 CSV with injection cells neutralised", async () => {
    const t = await h.signUp();
    const ids = await corpus(t);
    const { accepted, export: e } = await runExport(h, t, { format: "csv", options: { include_messages: true, include_attachments: true } });
    ExportAccepted.parse(accepted);
    expect(accepted).toMatchObject({ status: "processing", progress: 0, format: "csv" });
    expect(accepted.id).toMatch(/^exp_/);
    ExportObject.parse(e);
    expect(e).toMatchObject({ status: "completed", progress: 100, total: 3, processed: 3, error: null });
    expect(e.size_mb).toBeGreaterThanOrEqual(0);
    expect(new Date(e.expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);

    const file = await download(h, e.download_url);
    expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(file.headers.get("content-disposition")).toMatch(/^attachment; filename="parley-export-\d{4}-\d{2}-\d{2}-exp_[0-9a-z]+\.csv"/);
    const rows = parseCsv(file.text);
    expect(rows[0]).toEqual(["id", "title", "status", "source", "created_at", "updated_at", "contact_name", "contact_email", "assignee_id", "tags", "sentiment", "topics", "summary", "message_count", "messages", "attachments"]);
    expect(rows).toHaveLength(4);
    const byId = new Map(rows.slice(1).map((r) => [r[0], Object.fromEntries(rows[0]!.map((k, i) => [k, r[i]!]))]));
    expect([...byId.keys()]).toEqual([ids.a, ids.b, ids.c]); // oldest first
    const a = byId.get(ids.a)!;
    expect(a.title).toBe("'=HYPERLINK(\"http://evil\",\"click\")");
    expect(a.summary).toBe("'@SUM(A1) damaged parcel");
    expect(a.tags).toBe("vip");
    expect(a.sentiment).toBe("negative");
    expect(a.message_count).toBe("2");
    expect(a.messages).toContain('contact: Hello, my parcel "arrived" broken,\r\nplease help');
    expect(byId.get(ids.b)!.summary).toBe("'-asks about VAT");
    expect(byId.get(ids.b)!.title).toBe("Invoice question, December");
    expect(byId.get(ids.c)!.title).toBe("Olá — café ☕ naïve");
    // No cell anywhere starts with a formula character.
    for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it("neutralises every formula prefix and quotes per RFC 4180", () => {
    expect(["=1+1", "+1", "-1", "@x", "\tx", "\rx"].map(csvCell)).toEqual(["'=1+1", "'+1", "'-1", "'@x", "'\tx", '"\'\rx"']);
    expect(csvCell('a"b')).toBe('"a""b"');
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell(-3)).toBe("-3");
    expect(csvCell(null)).toBe("");
  });

  it("respects every filter: dates, status, source, tags, topics, sentiment", async () => {
    const t = await h.signUp();
    const ids = await corpus(t);
    const idsOf = async (filters: Record<string, unknown>) => {
      const { export: e } = await runExport(h, t, { format: "csv", filters });
      expect(e.status).toBe("completed");
      return parseCsv((await download(h, e.download_url)).text)
        .slice(1)
        .map((r) => r[0]);
    };
    expect(await idsOf({ date_from: "2026-11-05", date_to: "2026-11-30" })).toEqual([ids.b]);
    expect(await idsOf({ date_to: "2026-11-02" })).toEqual([ids.a]);
    expect(await idsOf({ status: "resolved" })).toEqual([ids.b]);
    expect(await idsOf({ source: ["email", "web"] })).toEqual([ids.b]);
    expect(await idsOf({ tags: ["VIP"] })).toEqual([ids.a]);
    expect(await idsOf({ topics: "billing" })).toEqual([ids.b]);
    expect(await idsOf({ sentiment: ["negative", "neutral"] })).toEqual([ids.a, ids.b]);
    expect(await idsOf({ sentiment: "positive" })).toEqual([]);
  });
});

describe("other formats", () => {
  it("json: a parseable document with every conversation, messages and attachments", async () => {
    const t = await h.signUp();
    const ids = await corpus(t);
    const { export: e } = await runExport(h, t, { format: "json", options: { include_messages: true, include_attachments: false } });
    const file = await download(h, e.download_url);
    expect(file.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const doc = JSON.parse(file.text);
    expect(doc.export).toMatchObject({ id: e.id, format: "json", count: 3 });
    expect(doc.conversations.map((c: { id: string }) => c.id)).toEqual([ids.a, ids.b, ids.c]);
    expect(doc.conversations[0]).toMatchObject({ title: '=HYPERLINK("http://evil","click")', tags: ["vip"], sentiment: "negative", topics: ["shipping"], message_count: 2 });
    expect(doc.conversations[0].messages.map((m: { content: string }) => m.content)).toEqual(["Hello, my parcel \"arrived\" broken,\r\nplease help", "+1 555 0100"]);
    expect(doc.conversations[2].messages[0].content).toBe("Ünïcödé 你好");
    expect(doc.conversations[0].attachments).toBeUndefined();
  });

  it("json: an export with no matching conversations is an empty list", async () => {
    const t = await h.signUp();
    const { export: e } = await runExport(h, t, { format: "json" });
    expect(e).toMatchObject({ status: "completed", total: 0, processed: 0 });
    expect(JSON.parse((await download(h, e.download_url)).text).conversations).toEqual([]);
  });

  it("markdown: one section per conversation, data escaped so it cannot add markup", async () => {
    const t = await h.signUp();
    await corpus(t);
    await seedConversation(h, t, { title: "# not a heading <script>alert(1)</script> [x](http://evil)" });
    const { export: e } = await runExport(h, t, { format: "markdown", options: { include_messages: true } });
    const md = (await download(h, e.download_url)).text;
    expect(md.startsWith("# Parley conversations export\n")).toBe(true);
    expect(md.match(/^## /gm)).toHaveLength(4);
    expect(md).toContain("## Invoice question, December");
    expect(md).toContain("\\# not a heading &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\[x\\]\\(http://evil\\)");
    expect(md).not.toContain("<script>");
    expect(md).toContain("> Hello, my parcel \"arrived\" broken,\n> please help");
  });

  it("pdf: a real PDF whose text holds every conversation (own extraction, and pdftotext when installed)", async () => {
    const t = await h.signUp();
    await corpus(t);
    const { export: e } = await runExport(h, t, { format: "pdf", options: { include_messages: true } });
    expect(e.status).toBe("completed");
    const file = await download(h, e.download_url);
    expect(file.headers.get("content-type")).toBe("application/pdf");
    expect(new TextDecoder().decode(file.bytes.slice(0, 5))).toBe("%PDF-");
    const text = pdfText(file.bytes);
    expect(text).toContain("Parley conversations export");
    expect(text).toContain("Invoice question, December");
    expect(text).toContain('=HYPERLINK("http://evil","click")');
    expect(text).toContain("Olá — café ? naïve"); // outside WinAnsi → "?"
    expect(text).toContain("contact");
    const poppler = pdftotext(file.bytes);
    if (poppler !== null) {
      expect(poppler).toContain("Invoice question, December");
      expect(poppler).toContain("Olá — café ? naïve");
    }
  });

  it("pdf: long content wraps and flows onto more pages", async () => {
    const t = await h.signUp();
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    for (let i = 0; i < 6; i++) await seedConversation(h, t, { title: `Long ${i}`, messages: [long, long] });
    const { export: e } = await runExport(h, t, { format: "pdf", options: { include_messages: true } });
    const file = await download(h, e.download_url);
    const pages = (await PDFDocument.load(file.bytes)).getPageCount();
    expect(pages).toBeGreaterThan(2);
    const text = pdfText(file.bytes);
    expect(text).toContain("word399");
    expect(text).toContain("Long 5");
  });
});

describe("chunks", () => {
  it("renders in many chunks (progress moves), and the result has each conversation once", async () => {
    const t = await h.signUp();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await seedConversation(h, t, { title: `C${i}`, createdAt: new Date(Date.UTC(2026, 10, 1, 0, 0, i)) }));
    chunkOverride.rows = 2;
    const { export: e } = await runExport(h, t, { format: "csv" });
    expect(e).toMatchObject({ status: "completed", progress: 100, processed: 7 });
    const rows = parseCsv((await download(h, e.download_url)).text).slice(1);
    expect(rows.map((r) => r[0])).toEqual(ids);
  });

  it("each row carries its own contact and its tags by name (case-insensitive order), across chunk boundaries; a row count that fills the last chunk exactly completes", async () => {
    const t = await h.signUp();
    const people: Array<{ id: string; name: string; email: string }> = [];
    for (const name of ["Ana", "Bo"]) {
      const r = await h.call("POST", "/v1/contacts", { token: t.token, body: { name, email: `${name.toLowerCase()}@customer.example` } });
      expect(r.status, r.text).toBe(201);
      people.push({ id: r.body.id, name, email: `${name.toLowerCase()}@customer.example` });
    }
    const tagSets = [["zeta", "Alpha", "beta"], [], ["beta"], ["Gamma", "alpha2"]];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await seedConversation(h, t, { title: `T${i}`, tags: tagSets[i], createdAt: new Date(Date.UTC(2026, 10, 1, 0, 0, i)) });
      if (i !== 1) await h.services.db.update(conversations).set({ contactId: people[i === 3 ? 1 : 0]!.id }).where(eq(conversations.id, id));
      ids.push(id);
    }
    chunkOverride.rows = 2; // 4 rows: two full chunks, the second knows it is the last
    const { export: e } = await runExport(h, t, { format: "csv" });
    expect(e).toMatchObject({ status: "completed", progress: 100, processed: 4 });
    const rows = parseCsv((await download(h, e.download_url)).text);
    const cols = rows[0]!;
    const got = rows.slice(1).map((r) => Object.fromEntries(cols.map((k, i) => [k, r[i]!])));
    expect(got.map((r) => r.id)).toEqual(ids);
    expect(got.map((r) => r.tags)).toEqual(["Alpha; beta; zeta", "", "beta", "alpha2; Gamma"]);
    expect(got.map((r) => [r.contact_name, r.contact_email])).toEqual([
      ["Ana", "ana@customer.example"],
      ["", ""],
      ["Ana", "ana@customer.example"],
      ["Bo", "bo@customer.example"],
    ]);
  });
});

describe("exports: validation, auth, tenancy", () => {
  it("422 names every invalid field", async () => {
    const t = await h.signUp();
    const e = expectError(await h.call("POST", "/v1/exports", { token: t.token, body: { format: "xlsx", filters: { status: "gone", date_from: "yesterday", extra: 1 }, options: { include_messages: "yes" } } }), 422, "validation_error");
    expect(Object.keys(e.details.fields)).toEqual(expect.arrayContaining(["format", "filters.status", "filters.date_from", "options.include_messages"]));
    expectError(await h.call("POST", "/v1/exports", { token: t.token, body: {} }), 422, "validation_error");
    expectError(await h.call("POST", "/v1/exports", { token: t.token, raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });

  it("401 without credentials; a read-only key may read but not request (403)", async () => {
    for (const [m, p] of [
      ["GET", "/v1/exports"],
      ["POST", "/v1/exports"],
      ["GET", "/v1/exports/exp_x"],
    ] as const) {
      expectError(await h.call(m, p, { body: m === "POST" ? { format: "csv" } : undefined }), 401, "unauthorized");
    }
    const t = await h.signUp();
    const key = (await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "ro", scopes: ["read"] } })).body.key;
    expectError(await h.call("POST", "/v1/exports", { headers: { "x-api-key": key }, body: { format: "csv" } }), 403, "forbidden");
    expect((await h.call("GET", "/v1/exports", { headers: { "x-api-key": key } })).status).toBe(200);
  });

  it("exports only the caller's workspace; another's exports are 404 and absent from lists", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const theirConv = await seedConversation(h, theirs, { title: "Their secret conversation" });
    const myConv = await seedConversation(h, mine, { title: "Mine" });
    const { export: theirExport } = await runExport(h, theirs, { format: "json" });
    const { export: myExport } = await runExport(h, mine, { format: "json" });
    const doc = JSON.parse((await download(h, myExport.download_url)).text);
    expect(doc.conversations.map((c: { id: string }) => c.id)).toEqual([myConv]);
    expect(JSON.stringify(doc)).not.toContain(theirConv);
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/exports/${theirExport.id}` },
      { method: "GET", path: `/v1/files/${theirExport.file_id}` },
      { list: "/v1/exports", absent: theirExport.id },
    ]);
    const list = await h.call("GET", "/v1/exports", { token: mine.token });
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([myExport.id]);
  });
});
