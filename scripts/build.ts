// `npm run build [-- <name>…]`: bundles every registry function (or the named ones) with
// wrangler exactly as `wrangler deploy` would (`--dry-run --outdir dist/<name>`), two at a time,
// then prints each bundle's size (against the previous build's, kept in dist/sizes.json) and
// checks that it contains only what its function needs and fits the size budget.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { edgeOptions, RELATIVE_ALIAS_OWNERS, renderWranglerToml, WRANGLER_TOML } from "./wrangler-toml";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const DIST = join(ROOT, "dist");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Functions that may ship the openai SDK (they call an LLM); every other bundle must not. */
const OPENAI_ALLOWED = new Set(["chat", "jobs-summaries", "jobs-automations"]);

/**
 * Every Worker's upload (its modules, gzipped) must fit in this. Cloudflare's own limit is far
 * above (3 MiB free, 10 MiB paid), but a Worker's size is parsed and compiled on every cold start.
 */
export const SIZE_BUDGET_GZIP = 300 * 1024;

/**
 * Workers allowed over the budget, each with why. An exception that is no longer needed fails
 * the build too, so this list only ever says what is true. None today: jobs-exports (pdf-lib) was
 * one until names were dropped and zod's compiler aliased away (README "Worker sizes").
 */
export const SIZE_EXCEPTIONS: Record<string, string> = {};

/** The median Worker's gzip size: a build of every function over it fails. */
export const MEDIAN_TARGET_GZIP = 200 * 1024;

/** Node-only packages of the local server and tooling: a Worker importing them is a mistake. */
const NEVER_BUNDLED = ["@electric-sql/pglite", "ioredis", "@hono/node-server", "ws", "drizzle-kit", "autocannon"];

export interface BundleReport {
  name: string;
  raw: number;
  gzip: number;
  packages: string[];
  problems: string[];
}

/** The docs function serves Scalar's standalone bundle from Workers static assets. */
export function copyDocsAssets(): void {
  const src = join(ROOT, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
  const dest = join(DIST, "docs-assets", "docs", "scalar.js");
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
}

function wrangler(name: string): Promise<void> {
  const args = [WRANGLER, "deploy", "--dry-run", "--outdir", join("dist", name), "--env", name, "--minify", "--metafile"];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`wrangler failed for ${name} (exit ${code}):\n${out}`))));
  });
}

/** `node_modules/@scope/pkg/x.js` → `@scope/pkg`; the last node_modules segment wins. */
function packageOf(input: string): string | undefined {
  const i = input.lastIndexOf("node_modules/");
  if (i < 0) return undefined;
  const parts = input.slice(i + "node_modules/".length).split("/");
  return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

export function inspect(name: string): BundleReport {
  const dir = join(DIST, name);
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(dir)) {
    // What gets uploaded: the modules, not the source map, metafile or README.
    if (!/\.(m?js|cjs|wasm)$/.test(file)) continue;
    const buf = readFileSync(join(dir, file));
    raw += buf.length;
    gzip += gzipSync(buf).length;
  }
  const meta = JSON.parse(readFileSync(join(dir, "bundle-meta.json"), "utf8")) as { inputs: Record<string, { imports?: Array<{ original?: string }> }> };
  const packages = [...new Set(Object.keys(meta.inputs).map(packageOf).filter((p): p is string => !!p))].sort();
  const problems: string[] = [];
  if (packages.includes("openai") && !OPENAI_ALLOWED.has(name)) {
    problems.push(`${name} bundles the openai SDK but does not call an LLM (import the llm service only where it is used, or add ${name} to OPENAI_ALLOWED in scripts/build.ts)`);
  }
  for (const p of NEVER_BUNDLED) if (packages.includes(p)) problems.push(`${name} bundles ${p}, a Node-only package of the local server or tooling (something imports lib/local/*?)`);
  problems.push(...aliasProblems(name, meta.inputs));
  problems.push(...budgetProblems(name, gzip));
  return { name, raw, gzip, packages, problems };
}

/** A relative alias key (wrangler.toml `[alias]`) imported by a package it was not meant for. */
export function aliasProblems(name: string, inputs: Record<string, { imports?: Array<{ original?: string }> }>): string[] {
  const problems: string[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    for (const imp of input.imports ?? []) {
      const owner = imp.original ? RELATIVE_ALIAS_OWNERS[imp.original] : undefined;
      if (owner && packageOf(file) !== owner) {
        problems.push(`${name}: ${file} imports "${imp.original}", which the [alias] for ${owner} replaces (scripts/wrangler-toml.ts): give that alias a narrower key`);
      }
    }
  }
  return problems;
}

/** What is wrong with a Worker of `gzip` bytes against the budget and its listed exception. */
export function budgetProblems(name: string, gzip: number, budget = SIZE_BUDGET_GZIP, exceptions = SIZE_EXCEPTIONS): string[] {
  const over = gzip > budget;
  if (over && !exceptions[name]) {
    return [`${name} is ${kib(gzip)} gzip, over the ${kib(budget)} budget (shrink it, or list it with the reason in SIZE_EXCEPTIONS in scripts/build.ts)`];
  }
  if (!over && exceptions[name]) return [`${name} is ${kib(gzip)} gzip, within the ${kib(budget)} budget: remove its entry from SIZE_EXCEPTIONS in scripts/build.ts`];
  return [];
}

/**
 * dist/docs-build/openapi.json: the document GET /openapi.json serves, generated from every
 * function's routes as Node generates it at runtime (functions/docs/app.ts). The docs Worker
 * bundles this file (wrangler alias `parley:openapi-document`) instead of every function's app.
 */
export async function writeOpenApiDocument(): Promise<string> {
  const { functions } = await import("../functions/registry");
  const { app: docsApp, documentOf } = await import("../functions/docs/app");
  const out = join(DIST, "docs-build", "openapi.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(documentOf(functions, docsApp)));
  return out;
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(size, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/** Builds the named functions (all when empty) into dist/<name> and returns their reports. */
export async function buildFunctions(names: string[] = []): Promise<BundleReport[]> {
  const { functions } = await import("../functions/registry");
  const expected = renderWranglerToml(functions, edgeOptions());
  if (!existsSync(WRANGLER_TOML) || readFileSync(WRANGLER_TOML, "utf8") !== expected) {
    throw new Error("wrangler.toml is missing or does not match functions/registry.ts: run `npm run wrangler:toml`");
  }
  const unknown = names.filter((n) => !functions.some((f) => f.name === n));
  if (unknown.length) throw new Error(`no such function: ${unknown.join(", ")} (have: ${functions.map((f) => f.name).join(", ")})`);
  const selected = names.length ? names : functions.map((f) => f.name);
  copyDocsAssets();
  if (selected.includes("docs")) await writeOpenApiDocument();
  // Two at a time: the machine has two cores, and each wrangler run is one esbuild.
  await pool(selected, 2, (name) => wrangler(name));
  return selected.map(inspect);
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

const SIZES = join(DIST, "sizes.json");

/** The gzip sizes of the previous build (dist/sizes.json), by function. */
export function previousSizes(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(SIZES, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Records this build's gzip sizes for the next build's comparison (merged: a partial build keeps the others). */
export function saveSizes(reports: BundleReport[], before: Record<string, number>): void {
  writeFileSync(SIZES, `${JSON.stringify({ ...before, ...Object.fromEntries(reports.map((r) => [r.name, r.gzip])) }, null, 2)}\n`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function medianGzip(reports: BundleReport[]): number {
  return median(reports.map((r) => r.gzip));
}

/** What is wrong with the median of a build of every function (a partial build says nothing of it). */
export function medianProblems(reports: BundleReport[], all: number, target = MEDIAN_TARGET_GZIP): string[] {
  if (reports.length < all) return [];
  const m = medianGzip(reports);
  return m > target ? [`the median Worker is ${kib(m)} gzip, over the ${kib(target)} target (README "Worker sizes")`] : [];
}

export function printReports(reports: BundleReport[], before: Record<string, number> = {}): void {
  const delta = (r: BundleReport) => {
    const b = before[r.name];
    if (b === undefined) return "";
    const d = r.gzip - b;
    return `${d > 0 ? "+" : d < 0 ? "−" : "±"}${kib(Math.abs(d))}`;
  };
  const budget = (r: BundleReport) => (r.gzip <= SIZE_BUDGET_GZIP ? "ok" : SIZE_EXCEPTIONS[r.name] ? "exception" : "OVER");
  const rows = reports.map((r) => [
    r.name,
    kib(r.raw),
    kib(r.gzip),
    before[r.name] === undefined ? "" : kib(before[r.name]!),
    delta(r),
    budget(r),
    String(r.packages.length),
    r.packages.includes("openai") ? "yes" : "no",
  ]);
  const head = ["function", "raw", "gzip", "gzip before", "change", `≤ ${kib(SIZE_BUDGET_GZIP)}`, "packages", "openai"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  if (reports.length > 1) {
    const prev = reports.map((r) => before[r.name]).filter((n): n is number => n !== undefined);
    const was = prev.length === reports.length ? ` (before: ${kib(median(prev))})` : "";
    console.log(`median gzip ${kib(median(reports.map((r) => r.gzip)))}${was} (target ≤ ${kib(MEDIAN_TARGET_GZIP)}); before = the previous build's dist/sizes.json`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = Date.now();
  try {
    const before = previousSizes();
    const reports = await buildFunctions(process.argv.slice(2));
    printReports(reports, before);
    saveSizes(reports, before);
    const { functions } = await import("../functions/registry");
    const problems = [...reports.flatMap((r) => r.problems), ...medianProblems(reports, functions.length)];
    for (const p of problems) console.error(`error: ${p}`);
    console.log(`built ${reports.length} function(s) into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (problems.length) process.exitCode = 1;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
