// /llms.txt: a plain-text digest of every endpoint, generated from the OpenAPI document, in
// the spirit of llmstxt.org (a title, a one-line summary, then sections of short entries).
import { HTTP_METHODS, type OpenApiDocument } from "./document";

type Json = Record<string, any>;

const MAX_DEPTH = 3;

function resolve(doc: OpenApiDocument, node: Json | undefined): Json | undefined {
  let cur = node;
  for (let i = 0; cur && typeof cur.$ref === "string" && i < 10; i++) {
    const name = cur.$ref.split("/").pop()!;
    cur = (doc.components?.schemas as Json | undefined)?.[name];
  }
  return cur;
}

/** A short type label: `string`, `integer`, `"a" | "b"`, `array of Contact`, `Workspace`. */
function typeLabel(doc: OpenApiDocument, node: Json | undefined): string {
  if (!node) return "any";
  if (typeof node.$ref === "string") return node.$ref.split("/").pop()!;
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) return node.enum.map((v: unknown) => JSON.stringify(v)).join(" | ");
  const variants = node.anyOf ?? node.oneOf;
  if (Array.isArray(variants)) return variants.map((v: Json) => typeLabel(doc, v)).join(" | ");
  const t = Array.isArray(node.type) ? node.type.join(" | ") : node.type;
  if (t === "array") return `array of ${typeLabel(doc, node.items)}`;
  if (node.format && t === "string") return `string (${node.format})`;
  if (t === "object" && node.properties) return `{${Object.keys(node.properties).join(", ")}}`;
  return t ?? "object";
}

/** Flattens an object schema into `a.b (type, required): description` lines. */
function fields(doc: OpenApiDocument, schema: Json | undefined, prefix = "", depth = 0): string[] {
  const s = resolve(doc, schema);
  if (!s) return [];
  const out: string[] = [];
  const required = new Set<string>(Array.isArray(s.required) ? s.required : []);
  for (const [name, raw] of Object.entries<Json>(s.properties ?? {})) {
    const prop = raw as Json;
    const path = `${prefix}${name}`;
    const target = resolve(doc, prop);
    const desc = prop.description ?? target?.description;
    out.push(`${path} (${typeLabel(doc, prop)}${required.has(name) ? ", required" : ""})${desc ? `: ${oneLine(desc)}` : ""}`);
    if (depth + 1 < MAX_DEPTH && target?.type === "object" && target.properties) {
      out.push(...fields(doc, target, `${path}.`, depth + 1));
    }
  }
  return out;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function authLabel(doc: OpenApiDocument, op: Json): string {
  const security: Json[] = op.security ?? doc.security ?? [];
  if (security.length === 0) return "public";
  const names = security.flatMap((req) => Object.keys(req));
  const label: Record<string, string> = {
    bearerAuth: "Bearer JWT or API key",
    apiKeyHeader: "X-API-Key",
    cookieAuth: "session cookie",
  };
  return names.map((n) => label[n] ?? n).join(" | ");
}

export function renderLlmsTxt(doc: OpenApiDocument, origin: string): string {
  const lines: string[] = [];
  lines.push(`# ${doc.info.title}`, "");
  lines.push(
    `> Parley is a JSON API for AI-assisted customer conversations (inbox, contacts, AI summaries, search, chat, email and WhatsApp reminders). Base URL: ${origin}. Version ${doc.info.version}.`,
    "",
  );
  lines.push(
    `Full machine-readable spec: ${origin}/openapi.json (OpenAPI 3.1). Human reference: ${origin}/docs.`,
    "Auth: `Authorization: Bearer <JWT access token | pk_ API key>`, or `X-API-Key: pk_…`, or the `parley_session` cookie. Endpoints marked public need none.",
    'Errors: `{"error": {"code", "message", "details"?, "request_id"}}`; 422 `validation_error` lists `details.fields` (path → messages).',
    "Lists: `page`, `per_page` (≤ 100), `sort` (`field` or `-field`) → `{data, meta: {page, per_page, total, total_pages}, links: {first, last, prev, next}}`.",
    "POST accepts `Idempotency-Key` (replayed for 24 h). Rate limits per credential per minute: `X-RateLimit-*`, 429 with `Retry-After`.",
    "",
  );

  // Group operations by their first tag, in the document's tag order.
  const groups = new Map<string, string[]>();
  for (const t of doc.tags ?? []) groups.set(t.name, []);
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = (item as Json | undefined)?.[method] as Json | undefined;
      if (!op) continue;
      const tag = op.tags?.[0] ?? "Other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push(renderOperation(doc, method, path, op, item as Json));
    }
  }
  for (const [tag, entries] of groups) {
    if (!entries.length) continue;
    const description = doc.tags?.find((t) => t.name === tag)?.description;
    lines.push(`## ${tag}`, "");
    if (description) lines.push(oneLine(description), "");
    lines.push(...entries);
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function renderOperation(doc: OpenApiDocument, method: string, path: string, op: Json, item: Json): string {
  const out: string[] = [];
  out.push(`### ${method.toUpperCase()} ${path}`);
  if (op.summary) out.push(oneLine(op.summary));
  if (op.description && op.description !== op.summary) out.push(oneLine(op.description));
  out.push(`- Auth: ${authLabel(doc, op)}`);
  const params: Json[] = [...(item.parameters ?? []), ...(op.parameters ?? [])];
  for (const p of params) {
    const param = p.$ref ? (doc.components?.parameters as Json | undefined)?.[p.$ref.split("/").pop()] : p;
    if (!param) continue;
    const desc = param.description ? `: ${oneLine(param.description)}` : "";
    out.push(`- ${param.in} ${param.name} (${typeLabel(doc, param.schema)}${param.required ? ", required" : ""})${desc}`);
  }
  const body = op.requestBody as Json | undefined;
  if (body) {
    for (const [type, media] of Object.entries<Json>(body.content ?? {})) {
      out.push(`- Body ${type}${body.required ? "" : " (optional)"}:`);
      for (const f of fields(doc, media.schema)) out.push(`  - ${f}`);
    }
  }
  const ok: string[] = [];
  const errors: string[] = [];
  for (const [status, res] of Object.entries<Json>(op.responses ?? {})) {
    if (/^[23]/.test(status)) {
      const types = Object.keys(res.content ?? {});
      const schema = res.content?.["application/json"]?.schema;
      const what = schema ? typeLabel(doc, schema) : types.join(", ");
      ok.push(`${status}${what ? ` ${what}` : ""}${res.description ? ` (${oneLine(res.description)})` : ""}`);
    } else {
      errors.push(status);
    }
  }
  if (ok.length) out.push(`- Returns: ${ok.join("; ")}`);
  if (errors.length) out.push(`- Errors: ${errors.join(", ")}`);
  out.push("");
  return out.join("\n");
}
