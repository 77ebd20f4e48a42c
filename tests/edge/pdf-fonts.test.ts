// The jobs-exports Worker is bundled with only the two standard fonts the PDF export uses
// (wrangler.toml `[alias]`, scripts/wrangler-toml.ts): the exports' renderer, bundled by wrangler
// with those aliases and run in workerd, still writes a PDF; a font it does not use is absent.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPATIBILITY_DATE, PDF_FONTS_USED } from "../../scripts/wrangler-toml";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const out = mkdtempSync(join(tmpdir(), "parley-pdf-"));

function wranglerBundle(): Promise<void> {
  const args = [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "tests/edge/fixtures/pdf-worker.ts", "--env=", "--dry-run", "--outdir", out, "--metafile"];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" } });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("close", (code) => (code === 0 ? ok() : fail(new Error(`wrangler failed (${code}):\n${log}`))));
  });
}

describe("the PDF export with only the fonts it uses", () => {
  let mf: Miniflare;
  beforeAll(async () => {
    await wranglerBundle();
    mf = new Miniflare({
      modulesRoot: out,
      modules: [{ type: "ESModule", path: join(out, "pdf-worker.js") }],
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
    });
  });
  afterAll(async () => {
    await mf?.dispose();
    rmSync(out, { recursive: true, force: true });
  });

  it("bundles the metrics of Helvetica and Helvetica-Bold only, no PNG decoder, tslib as ES modules", () => {
    const meta = JSON.parse(readFileSync(join(out, "bundle-meta.json"), "utf8")) as { inputs: Record<string, unknown> };
    const fonts = Object.keys(meta.inputs)
      .map((p) => /standard-fonts\/es\/(.+)\.compressed\.json$/.exec(p)?.[1])
      .filter((f): f is string => !!f && f !== "all-encodings")
      .sort();
    expect(fonts).toEqual([...PDF_FONTS_USED].sort());
    // Nor pdf-lib's PNG decoder: the export embeds no images.
    expect(Object.keys(meta.inputs).filter((p) => p.includes("@pdf-lib/upng"))).toEqual([]);
    // tslib's ES build, not its CommonJS one (which tree-shaking cannot trim).
    expect(Object.keys(meta.inputs).filter((p) => p.endsWith("tslib/tslib.js"))).toEqual([]);
    expect(Object.keys(meta.inputs).some((p) => p.endsWith("tslib/tslib.es6.js"))).toBe(true);
  });

  it("renders an export as a PDF in workerd", async () => {
    const r = await mf.dispatchFetch("http://x/");
    const body = new Uint8Array(await r.arrayBuffer());
    expect(r.status, new TextDecoder().decode(body.slice(0, 300))).toBe(200);
    expect(new TextDecoder().decode(body.slice(0, 5))).toBe("%PDF-");
    expect(new TextDecoder().decode(body.slice(-6))).toMatch(/%%EOF\s*$/);
    expect(body.length).toBeGreaterThan(1_000);
  });

  it("embeds the fonts the export uses; another standard font is absent", async () => {
    for (const name of PDF_FONTS_USED) {
      const r = await mf.dispatchFetch(`http://x/font?name=${name}`);
      expect(r.status, await r.clone().text()).toBe(200);
    }
    expect((await mf.dispatchFetch("http://x/font?name=Times-Roman")).status).toBe(500);
  });
});
