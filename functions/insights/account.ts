// /v1/account: the workspace's plan, storage against its limit and today's API requests against
// the daily quota; /v1/account/usage: conversations by source, storage by type, API requests by
// endpoint and day, AI tokens by model, over a period. Any agent (and any read key) may read them.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { jsonContent } from "../../lib/openapi";
import { PLANS } from "../../lib/plans";
import { dayOf } from "../../lib/usage";
import { account, usageReport } from "./account.service";

const TAGS = ["Account"];
const PLAN_TABLE = Object.entries(PLANS)
  .map(([name, p]) => `\`${name}\`: ${p.storageMb.toLocaleString("en-US")} MB storage, ${p.requestsPerDay.toLocaleString("en-US")} requests/day`)
  .join("; ");

const ACCOUNT_EXAMPLE = {
  workspace: { id: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r", name: "Acme Support", created_at: "2026-11-01T09:00:00.000Z" },
  plan: "free",
  storage: { used_mb: 12.5, limit_mb: 1024, used_bytes: 13107200, files: 42 },
  api_usage: { requests_today: 1834, limit_per_day: 10000, remaining_today: 8166, resets_at: "2026-11-25T00:00:00.000Z" },
};

const Account = z
  .object({
    workspace: z.object({ id: z.string(), name: z.string(), created_at: z.string() }),
    plan: z.string().openapi({ description: `The workspace's plan. Plans: ${PLAN_TABLE}.` }),
    storage: z.object({
      used_mb: z.number().openapi({ description: "Stored files not deleted (uploads, attachments, inbound attachments, exports), in MB of 1,048,576 bytes, two decimals." }),
      limit_mb: z.number().int(),
      used_bytes: z.number().int(),
      files: z.number().int(),
    }),
    api_usage: z.object({
      requests_today: z.number().int().openapi({ description: "Authenticated /v1 requests of this UTC day, refused ones included." }),
      limit_per_day: z.number().int(),
      remaining_today: z.number().int(),
      resets_at: z.string().openapi({ description: "Next midnight UTC." }),
    }),
  })
  .openapi("Account", { example: ACCOUNT_EXAMPLE });

const USAGE_EXAMPLE = {
  period: { from: "2026-11-01", to: "2026-11-24" },
  conversations: { total: 120, by_source: { api: 20, email: 64, whatsapp: 30, chat: 6 } },
  storage: { used_mb: 12.5, by_type: [{ type: "attachment", files: 40, bytes: 12582912, mb: 12 }, { type: "export", files: 2, bytes: 524288, mb: 0.5 }] },
  api_requests: {
    total: 1834,
    by_endpoint: [
      { endpoint: "GET /v1/conversations", requests: 1200 },
      { endpoint: "GET /v1/conversations/{id}", requests: 634 },
    ],
    by_day: [{ date: "2026-11-24", requests: 1834 }],
  },
  ai_tokens: { total: 51200, by_model: [{ model: "gpt-4o-mini", prompt_tokens: 40000, completion_tokens: 11200, total_tokens: 51200, requests: 210 }] },
};

const Usage = z
  .object({
    period: z.object({ from: z.string(), to: z.string() }),
    conversations: z.object({ total: z.number().int(), by_source: z.record(z.string(), z.number().int()).openapi({ description: "Conversations created in the period, by source." }) }),
    storage: z.object({
      used_mb: z.number(),
      by_type: z
        .array(z.object({ type: z.string(), files: z.number().int(), bytes: z.number().int(), mb: z.number() }))
        .openapi({ description: "Stored now (not per period), by kind: upload, attachment, inbound, export." }),
    }),
    api_requests: z.object({
      total: z.number().int(),
      by_endpoint: z.array(z.object({ endpoint: z.string().openapi({ example: "GET /v1/conversations/{id}" }), requests: z.number().int() })).openapi({ description: "By route template, most used first." }),
      by_day: z.array(z.object({ date: z.string(), requests: z.number().int() })),
    }),
    ai_tokens: z.object({
      total: z.number().int(),
      by_model: z.array(z.object({ model: z.string(), prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int(), requests: z.number().int() })),
    }),
  })
  .openapi("AccountUsage", { example: USAGE_EXAMPLE });

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Must be a date YYYY-MM-DD.")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "Must be a real date.");

const UsageQuery = z.object({
  from: Day.optional().openapi({ example: "2026-11-01", description: "First UTC day (default: 29 days before `to`)." }),
  to: Day.optional().openapi({ example: "2026-11-24", description: "Last UTC day, inclusive (default: today)." }),
});

const MAX_DAYS = 366;

const get = createRoute({
  method: "get",
  path: "/v1/account",
  operationId: "getAccount",
  tags: TAGS,
  summary: "Get the account: plan, storage and today's API usage",
  description: `Plans and their limits: ${PLAN_TABLE}. Past the daily request quota every /v1 request except /v1/account answers 429 \`rate_limit_exceeded\` with \`details.reason: "daily_quota"\` until midnight UTC.`,
  responses: { 200: jsonContent(Account, "The account"), ...errorResponses(401, 403) },
});

const usage = createRoute({
  method: "get",
  path: "/v1/account/usage",
  operationId: "getAccountUsage",
  tags: TAGS,
  summary: "Get usage over a period",
  description: `\`from\`/\`to\` are UTC days (YYYY-MM-DD, inclusive, at most ${MAX_DAYS} days; default the last 30 days). API requests are counted per route template per day (in Redis as they happen, persisted daily to Postgres); AI tokens per model per day; conversations by their creation day; storage is what is stored now.`,
  request: { query: UsageQuery },
  responses: { 200: jsonContent(Usage, "Usage in the period"), ...errorResponses(400, 401, 403) },
});

export const accountRouter = createRouter()
  .openapi(get, async (c) => {
    const { db, kv } = c.var.services;
    return c.json(await account(db, kv, c.var.principal.workspaceId), 200);
  })
  .openapi(usage, async (c) => {
    const q = c.req.valid("query");
    const to = q.to ?? dayOf(Date.now());
    const from = q.from ?? dayOf(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000);
    const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
    if (days < 1) throw new ApiError("bad_request", "`from` must not be after `to`.", { details: { fields: { from: ["Must not be after to."] } } });
    if (days > MAX_DAYS) throw new ApiError("bad_request", `The period is at most ${MAX_DAYS} days.`, { details: { fields: { from: [`At most ${MAX_DAYS} days before to.`] } } });
    const { db, kv, waitUntil } = c.var.services;
    return c.json(await usageReport(db, kv, c.var.principal.workspaceId, from, to, waitUntil), 200);
  });
