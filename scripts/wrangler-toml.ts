// `npm run wrangler:toml`: writes wrangler.toml from functions/registry.ts, one
// `[env.<name>]` per function with its routes, so the edge host and the local server route by
// the same table. tests/platform/wrangler.test.ts fails when the committed file is stale.
//
// In wrangler 4.86, `name`, `main`, `routes` and `assets` are inheritable (an env without them
// takes the top level's), `vars` are not. So every env sets its own name, main, routes and
// vars, and `assets` is set only under `[env.docs]`: at the top level every function would
// inherit the docs assets.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The R2 bucket of stored files, bound as `FILES` (lib/storage.ts). */
const FILES_BUCKET = { binding: "FILES", bucket_name: "parley-files" };

/**
 * Module aliases of the bundles (esbuild's `alias` through wrangler: the key is an import path
 * exactly as written, the value a file resolved from the repository root). wrangler 4.86 reads
 * `alias` from the top level only (an `[env.x.alias]` is silently ignored), so one table serves
 * every Worker; each key below is imported only where it is meant to apply. zod
 * re-exports all of its 50-odd locales as `z.locales` (and `core.locales`) from
 * `../locales/index.js`, and zod-openapi's `extendZodWithOpenApi(z)` keeps the whole namespace,
 * so every bundle carried 261 KiB (raw) of error messages in languages Parley never sets:
 * English only (lib/zod-locales.ts), the locale zod uses by default.
 */
const ZOD_LOCALES_ALIAS: Record<string, string> = { "../locales/index.js": "./lib/zod-locales.ts" };

/**
 * zod 4.6's `z.compile` (zod/v4/core/compile.js, re-exported by core/index.js as `./compile.js`,
 * kept whole for the same reason as the locales): a code generator built on `new Function`, which
 * Workers refuse, so in a Worker it can only hand schemas back on the runtime parser. That
 * fallback alone (lib/zod-compile-unused.ts): −31 KiB raw per Worker. scripts/build.ts fails the
 * build if any other module imports a `./compile.js` this would catch.
 */
export const ZOD_COMPILE_ALIAS: Record<string, string> = { "./compile.js": "./lib/zod-compile-unused.ts" };

/**
 * pdf-lib embeds a standard font from @pdf-lib/standard-fonts, which imports the metrics of all
 * 14 (~13 KiB each, compressed base64 that gzip cannot shrink). The PDF export uses Helvetica and
 * Helvetica-Bold only (functions/jobs/export-pdf.ts); the others become an empty string there, so
 * embedding one of them in that Worker fails (tests/edge/pdf-fonts.test.ts).
 */
export const PDF_FONTS_USED = ["Helvetica", "Helvetica-Bold"];
const PDF_FONTS_ALL = [
  "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique",
  "Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique",
  "Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic", "Symbol", "ZapfDingbats",
];
export const PDF_FONT_ALIAS: Record<string, string> = Object.fromEntries(
  PDF_FONTS_ALL.filter((f) => !PDF_FONTS_USED.includes(f)).map((f) => [`./${f}.compressed.json`, "./lib/pdf-font-unused.ts"]),
);
/**
 * The package each relative alias key is meant for: a relative key matches that exact import path
 * in any module, so scripts/build.ts fails the build when another package imports one.
 */
export const RELATIVE_ALIAS_OWNERS: Record<string, string> = {
  ...Object.fromEntries(Object.keys({ ...ZOD_LOCALES_ALIAS, ...ZOD_COMPILE_ALIAS }).map((k) => [k, "zod"])),
  ...Object.fromEntries(Object.keys(PDF_FONT_ALIAS).map((k) => [k, "@pdf-lib/standard-fonts"])),
};
/** pdf-lib's PNG decoder (25 KiB raw, ~9 KiB gzip): the export embeds no images. */
export const PDF_PNG_ALIAS = { "@pdf-lib/upng": "./lib/pdf-png-unused.ts" };
/**
 * pdf-lib imports six helpers from its own tslib 1.14 (package-lock: node_modules/pdf-lib/
 * node_modules/tslib). Bundled for Workers, tslib's `node` export condition wins and brings
 * tslib.js, CommonJS that cannot be tree-shaken: its ES build instead, the same version
 * (jobs-exports −1.5 KiB gzip). pdf-lib is the only bundled package importing tslib; if that
 * path moves, the build fails to resolve it, loudly.
 */
export const TSLIB_ALIAS = { tslib: "./node_modules/pdf-lib/node_modules/tslib/tslib.es6.js" };

/** Where the docs Worker finds the OpenAPI document `npm run build` generated (scripts/build.ts). */
export const OPENAPI_DOCUMENT_ALIAS = { "parley:openapi-document": "./dist/docs-build/openapi.json" };

/** Which functions need more than the defaults; keyed by function name. */
const EXTRAS: Record<
  string,
  { assets?: { directory: string; binding: string }; vars?: Record<string, string>; r2?: { binding: string; bucket_name: string }[] }
> = {
  // The docs page serves Scalar's standalone bundle from Workers static assets (copied there by
  // scripts/build.ts), not from a CDN; its OpenAPI document is generated at build time.
  docs: { assets: { directory: "dist/docs-assets", binding: "ASSETS" } },
  // Stored files (lib/storage.ts): uploads and attachments, and the exports rendered into them.
  files: { r2: [FILES_BUCKET] },
  exports: { r2: [FILES_BUCKET] },
  "jobs-exports": { r2: [FILES_BUCKET] },
  // Inbound email attachments (Mailgun route forwards) become files.
  inbound: { r2: [FILES_BUCKET] },
};

/** The newest date that wrangler 4.86's workerd (1.20260426) accepts offline. */
export const COMPATIBILITY_DATE = "2026-04-20";

export interface EdgeOptions {
  /** Public API host the routes are published on (placeholder until a real zone exists). */
  host: string;
  /** Cloudflare zone the host belongs to. */
  zone: string;
}

export function edgeOptions(env: Record<string, string | undefined> = process.env): EdgeOptions {
  const host = env.PARLEY_EDGE_HOST || "api.parley.example";
  return { host, zone: env.PARLEY_EDGE_ZONE || host.split(".").slice(-2).join(".") };
}

export interface FunctionLike {
  name: string;
  main: string;
  prefixes: string[];
  /** Paths inside another function's prefix (functions/registry.ts): reached through a service binding. */
  patterns?: { path: string }[];
}

/** The service binding a Worker forwards another function's paths through: FN_<NAME>. */
export const serviceBindingName = (fn: string) => `FN_${fn.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`;

/** The function whose prefix covers `path` (longest prefix), as the edge routes it. */
function prefixOwner(fns: FunctionLike[], path: string): FunctionLike | undefined {
  let best: FunctionLike | undefined;
  let len = -1;
  for (const f of fns) for (const p of f.prefixes) if ((path === p || path.startsWith(`${p}/`)) && p.length > len) [best, len] = [f, p.length];
  return best;
}

export interface WorkerEnvConfig {
  name: string;
  main: string;
  routes: { pattern: string; zone_name: string }[];
  /** Service bindings to the functions whose pattern paths this one's routes receive. */
  services?: { binding: string; service: string }[];
  vars: Record<string, string>;
  assets?: { directory: string; binding: string };
  r2_buckets?: { binding: string; bucket_name: string }[];
}

export function wranglerConfig(fns: FunctionLike[], opts: EdgeOptions) {
  if (!fns.length) throw new Error("the registry has no functions");
  const env: Record<string, WorkerEnvConfig> = {};
  for (const f of fns) {
    const extra = EXTRAS[f.name] ?? {};
    env[f.name] = {
      name: `parley-${f.name}`,
      main: f.main,
      routes: f.prefixes.map((p) => ({ pattern: `${opts.host}${p}*`, zone_name: opts.zone })),
      // Non-secret defaults only; secrets are set with `wrangler secret put` (scripts/deploy.ts).
      vars: { ENVIRONMENT: "production", PUBLIC_BASE_URL: `https://${opts.host}`, ...(extra.vars ?? {}) },
      ...(extra.assets ? { assets: extra.assets } : {}),
      ...(extra.r2 ? { r2_buckets: extra.r2 } : {}),
    };
  }
  // Cloudflare route patterns only end in `*` (no wildcard mid-path), so a function's pattern
  // path (/v1/conversations/{id}/suggest) arrives at the Worker owning the enclosing prefix,
  // which forwards it through a service binding to the function that answers it.
  for (const f of fns) {
    for (const p of f.patterns ?? []) {
      const owner = prefixOwner(fns, p.path.replace(/\{[^}]+\}/g, "x"));
      if (!owner || owner.name === f.name) continue;
      const e = env[owner.name]!;
      const binding = { binding: serviceBindingName(f.name), service: `parley-${f.name}` };
      if (!e.services?.some((b) => b.binding === binding.binding)) e.services = [...(e.services ?? []), binding];
    }
  }
  return {
    name: "parley",
    main: fns[0]!.main,
    compatibility_date: COMPATIBILITY_DATE,
    compatibility_flags: ["nodejs_compat"],
    workers_dev: false,
    minify: true,
    // Class and function names are not kept (−13 to −17 KiB gzip per Worker): nothing in Parley or
    // its bundled packages decides anything by a bundled class's name (errors it judges set `name`
    // themselves, or are matched by instanceof or code). Two packages read it: jose's error names
    // (the QStash Receiver rewraps those) and the openai SDK's User-Agent (lib/llm.ts sets it).
    keep_names: false,
    // The OpenAPI document is imported by the docs Worker only; pdf-lib's fonts, PNG decoder and tslib by jobs-exports only.
    alias: { ...ZOD_LOCALES_ALIAS, ...ZOD_COMPILE_ALIAS, ...OPENAPI_DOCUMENT_ALIAS, ...PDF_FONT_ALIAS, ...PDF_PNG_ALIAS, ...TSLIB_ALIAS },
    env,
  };
}

const str = (s: string) => JSON.stringify(s);

export function renderWranglerToml(fns: FunctionLike[], opts: EdgeOptions): string {
  const cfg = wranglerConfig(fns, opts);
  const out = [
    "# Generated from functions/registry.ts by `npm run wrangler:toml`. Do not edit by hand:",
    "# tests/platform/wrangler.test.ts fails when this file and the registry disagree.",
    `# Routes use the host ${opts.host} (set PARLEY_EDGE_HOST / PARLEY_EDGE_ZONE when generating).`,
    "# Deploy one function with `wrangler deploy --env <name>`, all with `npm run deploy`.",
    `name = ${str(cfg.name)}`,
    `main = ${str(cfg.main)}`,
    `compatibility_date = ${str(cfg.compatibility_date)}`,
    `compatibility_flags = [${cfg.compatibility_flags.map(str).join(", ")}]`,
    `workers_dev = ${cfg.workers_dev}`,
    `minify = ${cfg.minify}`,
    `keep_names = ${cfg.keep_names}`,
    "",
    "[alias]",
    ...Object.entries(cfg.alias).map(([k, v]) => `${str(k)} = ${str(v)}`),
  ];
  for (const [key, e] of Object.entries(cfg.env)) {
    out.push("", `[env.${key}]`, `name = ${str(e.name)}`, `main = ${str(e.main)}`, "routes = [");
    for (const r of e.routes) out.push(`  { pattern = ${str(r.pattern)}, zone_name = ${str(r.zone_name)} },`);
    out.push("]");
    if (e.services?.length) {
      out.push("services = [");
      for (const b of e.services) out.push(`  { binding = ${str(b.binding)}, service = ${str(b.service)} },`);
      out.push("]");
    }
    if (e.r2_buckets?.length) {
      out.push("r2_buckets = [");
      for (const b of e.r2_buckets) out.push(`  { binding = ${str(b.binding)}, bucket_name = ${str(b.bucket_name)} },`);
      out.push("]");
    }
    if (e.assets) out.push("", `[env.${key}.assets]`, `directory = ${str(e.assets.directory)}`, `binding = ${str(e.assets.binding)}`);
    out.push("", `[env.${key}.vars]`, ...Object.entries(e.vars).map(([k, v]) => `${k} = ${str(v)}`));
  }
  return `${out.join("\n")}\n`;
}

export const WRANGLER_TOML = resolve(fileURLToPath(new URL("../wrangler.toml", import.meta.url)));

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { functions } = await import("../functions/registry");
  writeFileSync(WRANGLER_TOML, renderWranglerToml(functions, edgeOptions()));
  console.log(`wrote ${WRANGLER_TOML} (${functions.length} functions: ${functions.map((f) => f.name).join(", ")})`);
}
