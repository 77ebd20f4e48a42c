// Rendering of exported conversations, one chunk at a time: each format's part for a chunk of
// rows, and the assembly of the parts into the final file. Pure functions (no I/O), so the
// job can keep parts in storage between deliveries and tests can check each format directly.
import type { ExportFilters, ExportOptions } from "../../schema/exports";

export interface ExportMessage {
  sender_type: string;
  content: string;
  created_at: string;
}

export interface ExportAttachment {
  id: string;
  filename: string;
  size: number;
  mime_type: string;
}

export interface ExportConversation {
  id: string;
  title: string;
  status: string;
  source: string;
  created_at: string;
  updated_at: string;
  contact: { id: string; name: string | null; email: string | null } | null;
  assignee_id: string | null;
  tags: string[];
  sentiment: string | null;
  topics: string[];
  summary: string | null;
  message_count: number;
  messages?: ExportMessage[];
  attachments?: ExportAttachment[];
}

export interface ExportHeader {
  id: string;
  format: string;
  created_at: string;
  filters: ExportFilters;
  options: ExportOptions;
  count: number;
}

// ---- CSV (RFC 4180) ----

const CSV_COLUMNS = ["id", "title", "status", "source", "created_at", "updated_at", "contact_name", "contact_email", "assignee_id", "tags", "sentiment", "topics", "summary", "message_count"] as const;

export function csvHeader(options: ExportOptions): string {
  const cols: string[] = [...CSV_COLUMNS];
  if (options.include_messages) cols.push("messages");
  if (options.include_attachments) cols.push("attachments");
  return `${cols.map(csvCell).join(",")}\r\n`;
}

/**
 * One CSV field: a cell a spreadsheet would run as a formula (starting with = + - @, a tab or
 * a carriage return) gets a leading apostrophe; then it is quoted when it holds a comma, quote,
 * CR or LF, with quotes doubled (RFC 4180).
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  let s = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const transcript = (messages: ExportMessage[]) => messages.map((m) => `[${m.created_at}] ${m.sender_type}: ${m.content}`).join("\n");
const attachmentList = (atts: ExportAttachment[]) => atts.map((a) => `${a.filename} (${a.size} bytes, ${a.mime_type})`).join("; ");

export function csvRows(rows: ExportConversation[], options: ExportOptions): string {
  let out = "";
  for (const c of rows) {
    const cells: Array<string | number | null> = [
      c.id,
      c.title,
      c.status,
      c.source,
      c.created_at,
      c.updated_at,
      c.contact?.name ?? null,
      c.contact?.email ?? null,
      c.assignee_id,
      c.tags.join("; "),
      c.sentiment,
      c.topics.join("; "),
      c.summary,
      c.message_count,
    ];
    if (options.include_messages) cells.push(transcript(c.messages ?? []));
    if (options.include_attachments) cells.push(attachmentList(c.attachments ?? []));
    out += `${cells.map(csvCell).join(",")}\r\n`;
  }
  return out;
}

// ---- JSON ----

/** A part: the chunk's conversations as JSON values separated by commas (no brackets). */
export function jsonRows(rows: ExportConversation[]): string {
  return rows.map((r) => JSON.stringify(r)).join(",\n");
}

export function jsonDocument(header: ExportHeader, parts: string[]): string {
  const body = parts.filter((p) => p.length > 0).join(",\n");
  const head = JSON.stringify({ export: header });
  // {"export": {...}, "conversations": [ ... ]}
  return `${head.slice(0, -1)},"conversations":[\n${body}\n]}\n`;
}

// ---- Markdown ----

/** Inline text: one line, with Markdown and HTML syntax escaped so the data cannot add markup. */
export function mdInline(s: string | null | undefined): string {
  if (!s) return "";
  return s
    .replace(/[\r\n]+/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]{}()#+\-.!|~])/g, "\\$1");
}

/** A block of text (messages, summary) as a blockquote, escaped likewise line by line. */
function mdQuote(s: string): string {
  return s
    .split(/\r\n|\r|\n/)
    .map((line) => `> ${mdInline(line)}`)
    .join("\n");
}

export function markdownRows(rows: ExportConversation[], options: ExportOptions): string {
  const out: string[] = [];
  for (const c of rows) {
    const lines = [
      `## ${mdInline(c.title) || "(untitled)"}`,
      "",
      `- **ID:** ${mdInline(c.id)}`,
      `- **Status:** ${mdInline(c.status)} · **Source:** ${mdInline(c.source)}`,
      `- **Created:** ${mdInline(c.created_at)} · **Updated:** ${mdInline(c.updated_at)}`,
    ];
    if (c.contact) lines.push(`- **Contact:** ${mdInline(c.contact.name ?? "")}${c.contact.email ? ` (${mdInline(c.contact.email)})` : ""}`);
    if (c.tags.length) lines.push(`- **Tags:** ${c.tags.map(mdInline).join(", ")}`);
    if (c.sentiment) lines.push(`- **Sentiment:** ${mdInline(c.sentiment)}`);
    if (c.topics.length) lines.push(`- **Topics:** ${c.topics.map(mdInline).join(", ")}`);
    lines.push(`- **Messages:** ${c.message_count}`);
    if (c.summary) lines.push("", "**Summary**", "", mdQuote(c.summary));
    if (options.include_attachments && c.attachments?.length) {
      lines.push("", "**Attachments**", "", ...c.attachments.map((a) => `- ${mdInline(a.filename)} (${a.size} bytes, ${mdInline(a.mime_type)})`));
    }
    if (options.include_messages && c.messages?.length) {
      lines.push("", "**Messages**", "");
      for (const m of c.messages) lines.push(`**${mdInline(m.sender_type)}** · ${mdInline(m.created_at)}`, "", mdQuote(m.content), "");
    }
    out.push(`${lines.join("\n").trimEnd()}\n`);
  }
  return out.join("\n");
}

export function markdownDocument(header: ExportHeader, parts: string[]): string {
  const intro = [
    "# Parley conversations export",
    "",
    `- **Export:** ${mdInline(header.id)}`,
    `- **Created:** ${mdInline(header.created_at)}`,
    `- **Conversations:** ${header.count}`,
    "",
  ].join("\n");
  return `${intro}\n${parts.filter((p) => p.length > 0).join("\n")}`;
}

// ---- PDF: parts hold laid-out-independent blocks; the PDF is built at assembly ----

export interface PdfBlock {
  /** h: a conversation's title; m: a metadata line; t: body text (wrapped); s: a small heading. */
  k: "h" | "m" | "t" | "s";
  text: string;
}

export function pdfBlocks(rows: ExportConversation[], options: ExportOptions): string {
  const blocks: PdfBlock[] = [];
  for (const c of rows) {
    blocks.push({ k: "h", text: c.title || "(untitled)" });
    blocks.push({ k: "m", text: `${c.id} · ${c.status} · ${c.source} · created ${c.created_at}` });
    if (c.contact) blocks.push({ k: "m", text: `Contact: ${c.contact.name ?? ""}${c.contact.email ? ` <${c.contact.email}>` : ""}` });
    if (c.tags.length) blocks.push({ k: "m", text: `Tags: ${c.tags.join(", ")}` });
    if (c.sentiment || c.topics.length) blocks.push({ k: "m", text: `Sentiment: ${c.sentiment ?? "-"} · Topics: ${c.topics.join(", ") || "-"}` });
    blocks.push({ k: "m", text: `Messages: ${c.message_count}` });
    if (c.summary) {
      blocks.push({ k: "s", text: "Summary" });
      blocks.push({ k: "t", text: c.summary });
    }
    if (options.include_attachments && c.attachments?.length) {
      blocks.push({ k: "s", text: "Attachments" });
      for (const a of c.attachments) blocks.push({ k: "t", text: `${a.filename} (${a.size} bytes, ${a.mime_type})` });
    }
    if (options.include_messages && c.messages?.length) {
      blocks.push({ k: "s", text: "Messages" });
      for (const m of c.messages) blocks.push({ k: "t", text: `${m.sender_type} (${m.created_at}): ${m.content}` });
    }
  }
  return JSON.stringify(blocks);
}
