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

/** The document for one request: the cached one with `servers` for the caller's origin. */
export function withServers(doc: OpenApiDocument, origin: string, publicBaseUrl?: string): OpenApiDocument {
  const servers = [{ url: origin, description: "This server" }];
  if (publicBaseUrl && publicBaseUrl !== origin) servers.push({ url: publicBaseUrl, description: "Public base URL" });
  return { ...doc, servers };
}

export const HTTP_METHODS = METHODS;
