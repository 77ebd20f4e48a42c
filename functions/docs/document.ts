// The one OpenAPI 3.1 document of the whole API: every function's routes merged (through
// OpenAPIHono's own `route()`, which copies each app's registry definitions: paths and
// named components), plus what no single function owns: info, security schemes, tags.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { API_DESCRIPTION } from "./description";
import { API_VERSION } from "./version";

export type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT or pk_ API key",
    description:
      "`Authorization: Bearer <token>`: either a JWT access token from `POST /v1/auth/token` (15 minutes) or an API key (`pk_…`).",
  },
  apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key (`pk_…`) in the `X-API-Key` header." },
  cookieAuth: {
    type: "apiKey",
    in: "cookie",
    name: "parley_session",
    description:
      "The browser session cookie set by `POST /v1/auth/login`. Unsafe methods (POST, PUT, PATCH, DELETE) must carry a same-origin `Origin` header.",
  },
} as const;

// Descriptions of the tags the areas use. A tag used by a route but missing here still gets
// listed (without a description), so the sidebar never loses an operation.
const TAG_DESCRIPTIONS: Record<string, string> = {
  Auth: "Sign-up and credential exchanges: token pairs with rotating refresh tokens, revocation, browser cookie sessions.",
  Workspaces: "The tenant: every resource belongs to exactly one workspace.",
  "API keys": "Long-lived `pk_…` keys for servers and scripts, scoped `read`, `write` or `admin`. Shown once at creation, stored hashed.",
  Agents: "The people of a workspace and their roles (`owner`, `admin`, `agent`).",
  Settings: "Workspace settings and the caller's password.",
  Conversations: "The inbox: conversations, their status, assignee and tags.",
  Messages: "Messages of a conversation, and messages captured from outside.",
  Search: "Full-text search over conversations, ranked, with highlighted snippets.",
  Summaries: "AI summaries of conversations (asynchronous: `202`, then poll).",
  Suggestions: "AI reply suggestions for a conversation.",
  Attachments: "Files attached to conversations.",
  Files: "Uploads and short-lived download links.",
  Contacts: "The people your workspace talks to. Email and phone are unique per workspace.",
  Sessions: "A visitor's interaction history, linked to a contact once identified.",
  Tags: "Workspace tags and tagging of contacts, sessions and conversations.",
  Chat: "AI chat: streamed (`text/event-stream`) and polling variants.",
  Assistants: "AI assistants: instructions, model and knowledge.",
  "OpenAI-compatible": "Chat Completions in OpenAI's exact shapes: point the official SDK's `baseURL` at an assistant.",
  Emails: "Outbound email through Mailgun and its delivery events.",
  Reminders: "Reminder templates and scheduled reminders by email or WhatsApp.",
  Channels: "Where conversations come from: web, API, email, WhatsApp (admin).",
  Automations: "Rules that act on events (admin).",
  Webhooks: "Outbound event deliveries signed per the Standard Webhooks spec (admin).",
  Analytics: "Totals, series and response times of a workspace.",
  Account: "Plan, storage and API usage.",
  Exports: "Asynchronous exports of conversations (PDF, CSV, JSON, Markdown).",
  Inbound: "Provider webhooks (Mailgun, WhatsApp), each signature-verified.",
  Jobs: "QStash deliveries, each `Upstash-Signature`-verified and idempotent. Not for clients.",
  Docs: "This reference, the OpenAPI document and the llms.txt digest.",
  Health: "Liveness and dependency checks.",
};

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** Merges the apps' registries into one document (no `servers`: those depend on the request). */
export function buildDocument(apps: ReadonlyArray<OpenAPIHono<AppEnv>>): OpenApiDocument {
  const merged = new OpenAPIHono<AppEnv>();
  for (const app of apps) merged.route("/", app);
  const doc = merged.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Parley API",
      version: API_VERSION,
      description: API_DESCRIPTION,
      contact: { name: "Parley" },
    },
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }, { cookieAuth: [] }],
  });
  doc.components = { ...doc.components, securitySchemes: { ...SECURITY_SCHEMES } };
  for (const schema of Object.values(doc.components.schemas ?? {})) describeOptionalDefaults(schema);
  prepareTryItExamples(doc);

  const used = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const m of METHODS) for (const t of item?.[m]?.tags ?? []) used.add(t);
  }
  const known = Object.keys(TAG_DESCRIPTIONS).filter((t) => used.has(t));
  const unknown = [...used].filter((t) => !(t in TAG_DESCRIPTIONS)).sort();
  doc.tags = [...known.map((name) => ({ name, description: TAG_DESCRIPTIONS[name] })), ...unknown.map((name) => ({ name }))];
  return doc;
}

type SchemaNode = Record<string, unknown> & { properties?: Record<string, SchemaNode>; required?: string[]; description?: string; default?: unknown };

/**
 * In a named component, an optional property's `default` moves into its description. zod
 * leaves a defaulted field out of `required` (the server fills it in when it is absent), but
 * openapi-typescript (`defaultNonNullable`, on by default) types every property of a component
 * that carries a `default` as always present, so a typed client would have to send it. Inline
 * request bodies and parameters keep their `default`: the generator already reads those as
 * optional. Walks the component's inline sub-schemas, not through `$ref`s.
 */
function describeOptionalDefaults(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) describeOptionalDefaults(n);
    return;
  }
  if (!node || typeof node !== "object") return;
  const schema = node as SchemaNode;
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (prop && typeof prop === "object" && prop.default !== undefined && !schema.required?.includes(name)) {
      const note = `Defaults to \`${JSON.stringify(prop.default)}\`.`;
      prop.description = prop.description ? `${prop.description} ${note}` : note;
      delete prop.default;
    }
  }
  for (const [key, value] of Object.entries(schema)) if (key !== "example" && key !== "examples" && key !== "default") describeOptionalDefaults(value);
}

/** The ids of our examples (`conv_01jd3k9v…`): no fresh workspace has them. */
const EXAMPLE_ID = /^[a-z]+_01jd3k9v6q8f2m4x7c5b0n1p2r$/;
const isExampleId = (v: unknown): boolean => (typeof v === "string" && EXAMPLE_ID.test(v)) || (Array.isArray(v) && v.length > 0 && v.every(isExampleId));

/**
 * What /docs' "Test Request" (Scalar) starts from, made to work against a fresh server:
 * - an optional query parameter gets no `example` (its example moves into the description):
 *   Scalar ticks every parameter that has a value, so each list opened filtered by made-up
 *   values and came back empty; a `default` stays (page, per_page: the same answer either way);
 * - a JSON request body gets one `example`, assembled from its fields' examples, without the
 *   optional references to ids no workspace has (`contact_id`, `channel_id`, …; the chat's
 *   `conversation_id` and `session_id`, which are mutually exclusive, both went out), and with
 *   a required one shown as a placeholder to replace (`<your ast_… id>`).
 */
function prepareTryItExamples(doc: OpenApiDocument): void {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, SchemaNode>;
  for (const item of Object.values(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item?.[m] as
        | { parameters?: Array<Record<string, any>>; requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown; examples?: unknown }> } }
        | undefined;
      if (!op) continue;
      for (const param of op.parameters ?? []) {
        if (param.in !== "query" || param.required) continue;
        const example = param.example ?? param.schema?.example;
        delete param.example;
        delete param.examples;
        if (param.schema && !param.schema.$ref) {
          delete param.schema.example;
          delete param.schema.examples;
        }
        if (example !== undefined && !isExampleId(example)) {
          const note = `Example: \`${typeof example === "string" ? example : JSON.stringify(example)}\`.`;
          param.description = param.description ? `${param.description} ${note}` : note;
        }
      }
      const media = op.requestBody?.content?.["application/json"];
      if (media && media.example === undefined && media.examples === undefined) {
        const example = exampleOf(schemas, media.schema, 0);
        if (example !== undefined) media.example = fitExample(schemas, media.schema, example, 0);
      }
    }
  }
}

type Node = SchemaNode & { $ref?: string; items?: unknown; anyOf?: unknown[]; oneOf?: unknown[]; allOf?: unknown[]; type?: unknown; examples?: unknown[] };

const resolveRef = (schemas: Record<string, SchemaNode>, node: unknown): Node | undefined => {
  let s = node as Node | undefined;
  while (s?.$ref) s = schemas[s.$ref.split("/").pop()!] as Node | undefined;
  return s && typeof s === "object" ? s : undefined;
};

/** An example for a schema from its own examples (and its properties'), fit to send as it is. */
function exampleOf(schemas: Record<string, SchemaNode>, node: unknown, depth: number): unknown {
  const s = resolveRef(schemas, node);
  if (!s || depth > 8) return undefined;
  const own = s.example !== undefined ? s.example : Array.isArray(s.examples) && s.examples.length ? s.examples[0] : undefined;
  // An id is judged by the object that holds it (dropped when optional), not here.
  if (own !== undefined) return own !== null && typeof own === "object" ? fitExample(schemas, s, own, 0) : own;
  for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) {
    const v = exampleOf(schemas, branch, depth + 1);
    if (v !== undefined && v !== null) return v;
  }
  if (s.allOf) {
    const parts = s.allOf.map((b) => exampleOf(schemas, b, depth + 1)).filter((v) => v && typeof v === "object");
    return parts.length ? Object.assign({}, ...parts) : undefined;
  }
  if (s.properties) {
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(s.properties)) {
      const v = exampleOf(schemas, p, depth + 1);
      if (v !== undefined) out[k] = v;
      // A required text without an example (a password, a token): say what goes there.
      else if (s.required?.includes(k) && resolveRef(schemas, p)?.type === "string") out[k] = `<${k}>`;
    }
    return fitExample(schemas, s, out, 0);
  }
  if (s.type === "array" && s.items) {
    const v = exampleOf(schemas, s.items, depth + 1);
    return v === undefined ? undefined : [v];
  }
  return undefined;
}

/**
 * Walks a value along its schema: an optional example id is dropped, a required one becomes a
 * placeholder (and so does any left where the schema cannot tell, e.g. inside a union).
 */
function fitExample(schemas: Record<string, SchemaNode>, node: unknown, value: unknown, depth: number): unknown {
  const s = resolveRef(schemas, node);
  if (isExampleId(value)) return Array.isArray(value) ? value.map(placeholder) : placeholder(value as string);
  if (Array.isArray(value)) return value.map((v) => fitExample(schemas, s?.type === "array" ? s.items : undefined, v, depth + 1));
  if (!value || typeof value !== "object" || depth > 8) return value;
  // In a union, the branch whose properties hold every key of the value.
  let obj = s;
  if (s && !s.properties) {
    const keys = Object.keys(value);
    obj = [...(s.anyOf ?? []), ...(s.oneOf ?? [])].map((b) => resolveRef(schemas, b)).find((b) => b?.properties && keys.every((k) => k in b.properties!));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isExampleId(v) && obj?.properties && !obj.required?.includes(k)) continue;
    out[k] = fitExample(schemas, obj?.properties?.[k], v, depth + 1);
  }
  return out;
}

const placeholder = (id: string) => `<your ${id.slice(0, id.indexOf("_"))}_… id>`;

/** The document for one request: the cached one with `servers` for the caller's origin. */
export function withServers(doc: OpenApiDocument, origin: string, publicBaseUrl?: string): OpenApiDocument {
  const servers = [{ url: origin, description: "This server" }];
  if (publicBaseUrl && publicBaseUrl !== origin) servers.push({ url: publicBaseUrl, description: "Public base URL" });
  return { ...doc, servers };
}

export const HTTP_METHODS = METHODS;
