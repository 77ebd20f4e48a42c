// Helpers for export tests: seeding conversations, waiting for an export, reading its file, and
// parsing what it produced (an RFC 4180 CSV parser, and text extraction from a PDF).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { conversations } from "../../schema";
import type { Harness, Tenant } from "../support/harness";
import { fetchLink } from "../files/helpers";

export async function seedConversation(
  h: Harness,
  t: Tenant,
  o: { title: string; source?: string; status?: string; tags?: string[]; messages?: string[]; summary?: { sentiment: string; topics: string[]; content: string }; createdAt?: Date },
): Promise<string> {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: o.title, source: o.source ?? "api" } });
  expect(r.status, r.text).toBe(201);
  const id = r.body.id as string;
  for (const m of o.messages ?? []) {
    const s = await h.call("POST", `/v1/conversations/${id}/messages`, { token: t.token, body: { content: m, sender_type: "contact" } });
    expect(s.status, s.text).toBe(201);
  }
  for (const tag of o.tags ?? []) await h.call("POST", `/v1/conversations/${id}/tags`, { token: t.token, body: { tag } });
  if (o.status) await h.call("POST", `/v1/conversations/${id}/status`, { token: t.token, body: { status: o.status } });
  const set: Record<string, unknown> = {};
  if (o.summary) set.summary = { title: o.title, action_items: [], language: "en", style: "concise", ...o.summary };
  if (o.createdAt) set.createdAt = o.createdAt;
  if (Object.keys(set).length) await h.services.db.update(conversations).set(set).where(and(eq(conversations.workspaceId, t.workspaceId), eq(conversations.id, id)));
  return id;
}

/** Requests an export, lets the local QStash deliver every chunk, and answers the final export. */
export async function runExport(h: Harness, t: Tenant, body: unknown) {
  const r = await h.call("POST", "/v1/exports", { token: t.token, body });
  expect(r.status, r.text).toBe(202);
  await h.services.qstash!.idle();
  for (let i = 0; i < 200; i++) {
    const g = await h.call("GET", `/v1/exports/${r.body.id}`, { token: t.token });
    if (g.body.status !== "processing") return { accepted: r.body, export: g.body };
    await new Promise((res) => setTimeout(res, 25));
    await h.services.qstash!.idle();
  }
  throw new Error("export did not finish");
}

export async function download(h: Harness, url: string) {
  const got = await fetchLink(h, url);
  expect(got.status).toBe(200);
  return got;
}

/** RFC 4180: quoted fields with doubled quotes, CRLF records; returns rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
        i++;
        continue;
      }
      cell += ch;
      i++;
      continue;
    }
    if (ch === '"' && cell === "") {
      quoted = true;
      i++;
    } else if (ch === ",") {
      row.push(cell);
      cell = "";
      i++;
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i += 2;
    } else {
      if (ch === '"' || ch === "\n" || ch === "\r") throw new Error(`not RFC 4180 at ${i}: bare ${JSON.stringify(ch)}`);
      cell += ch;
      i++;
    }
  }
  if (quoted) throw new Error("unterminated quoted field");
  if (cell !== "" || row.length) throw new Error("last record not terminated by CRLF");
  return rows;
}

/** Text drawn on the PDF's pages: every FlateDecode stream inflated, its hex `Tj` strings decoded (WinAnsi). */
export function pdfText(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes);
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const s = buf.indexOf("stream", at);
    if (s < 0) break;
    const start = buf[s + 6] === 0x0d ? s + 8 : s + 7;
    const end = buf.indexOf("endstream", start);
    if (end < 0) break;
    at = end + 9;
    let data: Buffer;
    try {
      data = inflateSync(buf.subarray(start, end));
    } catch {
      continue;
    }
    for (const m of data.toString("latin1").matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) out.push(winAnsiDecode(Buffer.from(m[1]!, "hex")));
  }
  return out.join("\n");
}

// WinAnsiEncoding's 0x80–0x9F (the rest is Latin-1).
const WIN_ANSI_80 = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ";
const winAnsiDecode = (b: Buffer) => Array.from(b, (x) => (x >= 0x80 && x <= 0x9f ? WIN_ANSI_80[x - 0x80]! : String.fromCharCode(x))).join("");

/** pdftotext (poppler-utils) when installed: an independent reader of the same PDF. */
export function pdftotext(bytes: Uint8Array): string | null {
  try {
    execFileSync("pdftotext", ["-v"], { stdio: "ignore" });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "parley-pdf-"));
  const file = join(dir, "x.pdf");
  writeFileSync(file, bytes);
  return execFileSync("pdftotext", ["-layout", file, "-"]).toString("utf8");
}
