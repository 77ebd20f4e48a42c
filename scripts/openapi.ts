// `npm run openapi`: writes the merged OpenAPI 3.1 document of every function to
// dist/openapi.json (or prints it with `--stdout`), the same document GET /openapi.json serves.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { app as docsApp, documentOf } from "../functions/docs/app";
import { HTTP_METHODS, withServers } from "../functions/docs/document";
import { functions } from "../functions/registry";

const env = process.env as Record<string, string | undefined>;
const base = (env.PUBLIC_BASE_URL ?? `http://${env.HOST ?? "127.0.0.1"}:${env.PORT ?? 8787}`).replace(/\/+$/, "");
const doc = withServers(documentOf(functions, docsApp), base);
const json = `${JSON.stringify(doc, null, 2)}\n`;

if (process.argv.includes("--stdout")) {
  process.stdout.write(json);
} else {
  const out = resolve(process.argv.find((a) => a.startsWith("--out="))?.slice(6) ?? "dist/openapi.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, json);
  const operations = Object.values(doc.paths ?? {}).reduce((n, item) => n + HTTP_METHODS.filter((m) => item?.[m]).length, 0);
  console.log(`Wrote ${out}: ${Object.keys(doc.paths ?? {}).length} paths, ${operations} operations, ${json.length} bytes.`);
}
