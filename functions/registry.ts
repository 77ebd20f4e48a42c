// Every deployable function: its name, the path prefixes it owns at the edge host, and its
// app. The local server routes by this table, and wrangler.toml is generated from it
// (`npm run wrangler:toml`); a test fails when the two disagree.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/env";
import { app as chat } from "./chat/app";
import { app as contacts } from "./contacts/app";
import { app as conversations } from "./conversations/app";
import { app as docs } from "./docs/app";
import { app as identity } from "./identity/app";
import { app as admin } from "./admin/app";
import { app as email } from "./email/app";
import { app as exportsFn } from "./exports/app";
import { app as files } from "./files/app";
import { app as inbound } from "./inbound/app";
import { app as insights } from "./insights/app";
import { app as jobsAutomations } from "./jobs/automations";
import { app as jobsDeliveries } from "./jobs/deliveries";
import { app as jobsEvents } from "./jobs/events";
import { app as jobsExports } from "./jobs/exports";
import { app as jobsReminders } from "./jobs/reminders";
import { app as jobsSummaries } from "./jobs/summaries";
import { app as jobsUsage } from "./jobs/usage";
import { app as jobsWebhooks } from "./jobs/webhooks";
import { app as tags } from "./tags/app";
import { SUGGEST_PATH, SUGGEST_ROUTE } from "./chat/suggest-path";
import { ATTACHMENTS_PATH, ATTACHMENTS_ROUTE } from "./files/attachments-path";

export interface FunctionDef {
  name: string;
  /** Worker entry, relative to the repository root. */
  main: string;
  /** Path prefixes; `/v1/auth` owns `/v1/auth` and everything below it. */
  prefixes: string[];
  /**
   * Paths inside another function's prefix that this function answers, checked before any
   * prefix. Cloudflare routes only take a trailing `*`, so at the edge such a path reaches the
   * prefix's owner, which forwards it here through a service binding (scripts/wrangler-toml.ts
   * adds the binding; the owner's Worker entry forwards).
   */
  patterns?: { path: string; regex: RegExp }[];
  app: OpenAPIHono<AppEnv>;
}

export const functions: FunctionDef[] = [
  {
    name: "identity",
    main: "functions/identity/index.ts",
    prefixes: ["/v1/workspaces", "/v1/auth", "/v1/api-keys", "/v1/agents", "/v1/settings"],
    app: identity,
  },
  {
    name: "docs",
    main: "functions/docs/index.ts",
    prefixes: ["/openapi.json", "/docs", "/llms.txt", "/healthz"],
    app: docs,
  },
  { name: "contacts", main: "functions/contacts/index.ts", prefixes: ["/v1/contacts", "/v1/sessions"], app: contacts },
  { name: "tags", main: "functions/tags/index.ts", prefixes: ["/v1/tags"], app: tags },
  { name: "conversations", main: "functions/conversations/index.ts", prefixes: ["/v1/conversations", "/v1/messages", "/v1/summaries"], app: conversations },
  {
    name: "chat",
    main: "functions/chat/index.ts",
    prefixes: ["/v1/chat", "/v1/assistants", "/v1/openai", "/v1/ai-suggest"],
    // Needs the model, which the conversations Worker does not bundle.
    patterns: [{ path: SUGGEST_ROUTE, regex: SUGGEST_PATH }],
    app: chat,
  },
  // Admin only: channels, automations, outbound webhooks.
  { name: "admin", main: "functions/admin/index.ts", prefixes: ["/v1/channels", "/v1/automations", "/v1/webhooks"], app: admin },
  { name: "email", main: "functions/email/index.ts", prefixes: ["/v1/emails", "/v1/reminder-templates", "/v1/reminders"], app: email },
  { name: "insights", main: "functions/insights/index.ts", prefixes: ["/v1/analytics", "/v1/account"], app: insights },
  {
    name: "files",
    main: "functions/files/index.ts",
    prefixes: ["/v1/files", "/v1/attachments"],
    // Uploads (and their 25 MiB body limit) live in the files Worker.
    patterns: [{ path: ATTACHMENTS_ROUTE, regex: ATTACHMENTS_PATH }],
    app: files,
  },
  { name: "exports", main: "functions/exports/index.ts", prefixes: ["/v1/exports"], app: exportsFn },
  // Provider webhooks (Mailgun, WhatsApp): not under /v1, each signature-verified.
  { name: "inbound", main: "functions/inbound/index.ts", prefixes: ["/inbound"], app: inbound },
  // QStash-invoked jobs, one Worker each (lib/jobs.ts): not under /v1, signature-verified.
  { name: "jobs-summaries", main: "functions/jobs/summaries.worker.ts", prefixes: ["/jobs/summaries"], app: jobsSummaries },
  { name: "jobs-exports", main: "functions/jobs/exports.worker.ts", prefixes: ["/jobs/exports"], app: jobsExports },
  { name: "jobs-reminders", main: "functions/jobs/reminders.worker.ts", prefixes: ["/jobs/reminders"], app: jobsReminders },
  { name: "jobs-webhooks", main: "functions/jobs/webhooks.worker.ts", prefixes: ["/jobs/webhooks"], app: jobsWebhooks },
  { name: "jobs-automations", main: "functions/jobs/automations.worker.ts", prefixes: ["/jobs/automations"], app: jobsAutomations },
  { name: "jobs-deliveries", main: "functions/jobs/deliveries.worker.ts", prefixes: ["/jobs/deliveries"], app: jobsDeliveries },
  { name: "jobs-events", main: "functions/jobs/events.worker.ts", prefixes: ["/jobs/events"], app: jobsEvents },
  { name: "jobs-usage", main: "functions/jobs/usage.worker.ts", prefixes: ["/jobs/usage"], app: jobsUsage },
];

/** The function owning `path`: a matching pattern first, else the longest matching prefix. */
export function route(path: string): FunctionDef | undefined {
  for (const f of functions) if (f.patterns?.some((p) => p.regex.test(path))) return f;
  let best: FunctionDef | undefined;
  let bestLen = -1;
  for (const f of functions) {
    for (const p of f.prefixes) {
      if ((path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`)) && p.length > bestLen) {
        best = f;
        bestLen = p.length;
      }
    }
  }
  return best;
}
