// The PDF of an export, built with pdf-lib (pure JavaScript, runs on Workers): A4 pages, the
// standard Helvetica fonts, text wrapped to the page width. The standard fonts cover WinAnsi
// (Latin-1 and a few more), so other characters are written as "?": the text stays readable
// and extractable, and a character the font cannot encode never fails the export.
import { PDFDocument, type PDFFont, type PDFPage, StandardFonts, rgb } from "pdf-lib";
import type { ExportHeader, PdfBlock } from "./export-render";

const PAGE: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const WIDTH = PAGE[0] - 2 * MARGIN;

const WIN_ANSI_EXTRA = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ");

/** Characters the standard fonts can encode; anything else becomes "?". */
export function winAnsi(s: string): string {
  let out = "";
  for (const ch of s.replace(/\t/g, "    ")) {
    const cp = ch.codePointAt(0)!;
    out += (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) || WIN_ANSI_EXTRA.has(ch) ? ch : "?";
  }
  return out;
}

const STYLE: Record<PdfBlock["k"], { bold: boolean; size: number; before: number; color: number }> = {
  h: { bold: true, size: 13, before: 14, color: 0 },
  s: { bold: true, size: 10, before: 6, color: 0.2 },
  m: { bold: false, size: 9, before: 0, color: 0.35 },
  t: { bold: false, size: 10, before: 2, color: 0 },
};

/** Greedy word wrap to `width` points; a word longer than a line is broken by characters. */
export function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split(/\r\n|\r|\n/)) {
    let line = "";
    for (const word of para.split(" ")) {
      const candidate = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(candidate, size) <= width) {
        line = candidate;
        continue;
      }
      if (line) lines.push(line);
      line = "";
      let rest = word;
      while (font.widthOfTextAtSize(rest, size) > width) {
        let n = rest.length - 1;
        while (n > 1 && font.widthOfTextAtSize(rest.slice(0, n), size) > width) n = Math.floor(n * 0.9);
        lines.push(rest.slice(0, n));
        rest = rest.slice(n);
      }
      line = rest;
    }
    lines.push(line);
  }
  return lines;
}

export async function buildPdf(header: ExportHeader, parts: string[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(`Parley conversations export ${header.id}`);
  doc.setProducer("Parley");
  doc.setCreator("Parley exports");
  doc.setCreationDate(new Date(header.created_at));
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);

  let page: PDFPage = doc.addPage(PAGE);
  let y = PAGE[1] - MARGIN;
  const write = (text: string, k: PdfBlock["k"]) => {
    const st = STYLE[k];
    const font = st.bold ? bold : regular;
    const lh = st.size * 1.3;
    y -= st.before;
    for (const line of wrap(winAnsi(text), font, st.size, WIDTH)) {
      if (y - lh < MARGIN) {
        page = doc.addPage(PAGE);
        y = PAGE[1] - MARGIN;
      }
      y -= lh;
      if (line) page.drawText(line, { x: MARGIN, y, size: st.size, font, color: rgb(st.color, st.color, st.color) });
    }
  };

  write("Parley conversations export", "h");
  write(`Export ${header.id} · created ${header.created_at} · ${header.count} conversation${header.count === 1 ? "" : "s"}`, "m");
  for (const part of parts) {
    for (const b of JSON.parse(part) as PdfBlock[]) {
      if (b.k === "h") y -= 10;
      write(b.text, b.k);
    }
  }
  return doc.save();
}
