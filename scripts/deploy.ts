// `npm run deploy [-- <name>…] [--dry-run]`: deploys every registry function (or the named
// ones) as its own Worker, `wrangler deploy --env <name>`, one after another. Needs
// CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID when the token sees several accounts), real
// routes (regenerate wrangler.toml with PARLEY_EDGE_HOST=api.example.com npm run wrangler:toml)
// and, once per function, its secrets:
//
//   wrangler secret put DATABASE_URL --env identity        # Neon connection string
//   wrangler secret put JWT_SECRET --env identity          # ≥ 32 characters, the same for all
//   wrangler secret put UPSTASH_REDIS_REST_URL --env identity
//   wrangler secret put UPSTASH_REDIS_REST_TOKEN --env identity
//
// and where a function uses them: QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY,
// QSTASH_NEXT_SIGNING_KEY (queues and jobs), OPENAI_API_KEY (LLM functions), MAILGUN_API_KEY,
// MAILGUN_DOMAIN, MAILGUN_WEBHOOK_SIGNING_KEY (email, inbound). Non-secret defaults
// (ENVIRONMENT, PUBLIC_BASE_URL) are `[env.<name>.vars]` in wrangler.toml.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { functions } from "../functions/registry";
import { copyDocsAssets, writeOpenApiDocument } from "./build";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const REQUIRED_SECRETS = ["DATABASE_URL", "JWT_SECRET", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"];

const args = process.argv.slice(2);
const dryRun = args.includes("--dry-run");
const names = args.filter((a) => !a.startsWith("--"));
const selected = names.length ? functions.filter((f) => names.includes(f.name)) : functions;
if (names.length && selected.length !== names.length) {
  console.error(`unknown function in ${names.join(", ")}; have ${functions.map((f) => f.name).join(", ")}`);
  process.exit(1);
}
if (!dryRun && !process.env.CLOUDFLARE_API_TOKEN) {
  console.error(`CLOUDFLARE_API_TOKEN is not set. Before the first deploy, for each function set its secrets:
${selected.map((f) => REQUIRED_SECRETS.map((s) => `  npx wrangler secret put ${s} --env ${f.name}`).join("\n")).join("\n")}
then: CLOUDFLARE_API_TOKEN=… npm run deploy   (or --dry-run to bundle without uploading)`);
  process.exit(1);
}

copyDocsAssets();
// The docs Worker bundles the document generated from the code now (wrangler alias
// `parley:openapi-document`), never a stale one.
if (selected.some((f) => f.name === "docs")) await writeOpenApiDocument();
// A service binding must name a Worker that exists: functions that others forward paths to
// (registry `patterns`, e.g. chat) are deployed first.
const ordered = [...selected].sort((a, b) => Number(Boolean(b.patterns?.length)) - Number(Boolean(a.patterns?.length)));
for (const f of ordered) {
  console.log(`\n== ${f.name} → parley-${f.name}`);
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--env", f.name, ...(dryRun ? ["--dry-run"] : [])], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) {
    console.error(`deploy of ${f.name} failed; missing secrets? npx wrangler secret list --env ${f.name}`);
    process.exit(r.status ?? 1);
  }
}
