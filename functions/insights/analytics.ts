// GET /v1/analytics: the workspace's conversation figures over a period of days in its time
// zone (any agent, any read key). The figures come from analytics.service.ts.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { jsonContent } from "../../lib/openapi";
import { safeParam } from "../../lib/safe-text";
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from "../../schema/conversations";
import { analytics, DEFAULT_DAYS, MAX_DAYS, OPEN_STATUSES, resolvePeriod, SENTIMENTS, workspaceTimeZone } from "./analytics.service";

const TAGS = ["Analytics"];

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Must be a date YYYY-MM-DD.")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "Must be a real date.");

const AnalyticsQuery = z.object({
  days: z.coerce
    .number({ error: "Must be a whole number of days." })
    .int("Must be a whole number of days.")
    .min(1, "Must be at least 1.")
    .max(MAX_DAYS, `Must be at most ${MAX_DAYS}.`)
    .optional()
    .openapi({ example: 30, description: `The number of days ending on \`to\` (default ${DEFAULT_DAYS}). Not with \`from\`.` }),
  from: Day.optional().openapi({ example: "2026-11-01", description: "First day of the period (YYYY-MM-DD, in the workspace's time zone)." }),
  to: Day.optional().openapi({ example: "2026-11-30", description: "Last day of the period, inclusive (default: today in the workspace's time zone)." }),
  channel_id: safeParam(100).min(1).optional().openapi({ example: "ch_01jd3k9v6q8f2m4x7c5b0n1p2r", description: "Only conversations on this channel (and their messages)." }),
  agent_id: safeParam(100).min(1).optional().openapi({ example: "agt_01jd3k9v6q8f2m4x7c5b0n1p2r", description: "Only conversations assigned to this agent (and their messages)." }),
});

const Totals = z.object({
  conversations: z.number().int().openapi({ description: "Conversations created in the period." }),
  messages: z.number().int().openapi({ description: "Messages written in the period (every sender, notes included)." }),
  resolved: z.number().int().openapi({ description: "Conversations resolved (or closed) in the period, and not reopened since." }),
  open: z.number().int().openapi({ description: `Conversations created in the period that are not done now (status ${OPEN_STATUSES.join(", ")}).` }),
});

const Times = z.object({
  median_seconds: z.number().int().nullable(),
  p90_seconds: z.number().int().nullable(),
  conversations: z.number().int().openapi({ description: "How many conversations the figures are computed over." }),
});

const EXAMPLE = {
  period: { from: "2026-11-01", to: "2026-11-30", days: 30, timezone: "Europe/Paris" },
  totals: { conversations: 412, messages: 2954, resolved: 371, open: 38 },
  series: [
    { date: "2026-11-01", conversations: 12, messages: 80, resolved: 10 },
    { date: "2026-11-02", conversations: 15, messages: 101, resolved: 13 },
  ],
  by_channel: [
    { channel_id: "ch_01jd3k9v6q8f2m4x7c5b0n1p2r", name: "Support inbox", type: "email", conversations: 250 },
    { channel_id: null, name: null, type: null, conversations: 162 },
  ],
  by_source: { web: 40, api: 22, email: 250, whatsapp: 90, chat: 10 },
  by_status: { open: 30, pending: 6, snoozed: 2, resolved: 320, closed: 54 },
  by_tag: [
    { tag: "billing", conversations: 96 },
    { tag: "refund", conversations: 41 },
  ],
  by_agent: [
    { agent_id: "agt_01jd3k9v6q8f2m4x7c5b0n1p2r", name: "Ada", conversations: 230, resolved: 214 },
    { agent_id: null, name: null, conversations: 182, resolved: 157 },
  ],
  first_response_time: { median_seconds: 540, p90_seconds: 5400, conversations: 398 },
  resolution_time: { median_seconds: 14400, p90_seconds: 172800, conversations: 371 },
  sentiment: { positive: 120, neutral: 180, negative: 60, mixed: 22, none: 30 },
  previous_period: { from: "2026-10-02", to: "2026-10-31", conversations: 380, messages: 2710, resolved: 350, open: 4 },
};

const Analytics = z
  .object({
    period: z.object({
      from: z.string(),
      to: z.string(),
      days: z.number().int(),
      timezone: z.string().openapi({ description: "The workspace's time zone (settings.timezone), in which days begin and end; UTC when none is set." }),
    }),
    totals: Totals,
    series: z
      .array(z.object({ date: z.string(), conversations: z.number().int(), messages: z.number().int(), resolved: z.number().int() }))
      .openapi({ description: "One entry per day of the period (days without activity included): conversations created, messages written, conversations resolved that day." }),
    by_channel: z
      .array(z.object({ channel_id: z.string().nullable(), name: z.string().nullable(), type: z.string().nullable(), conversations: z.number().int() }))
      .openapi({ description: "The period's conversations by channel, most first; `channel_id: null` for conversations on no channel." }),
    by_source: z.record(z.string(), z.number().int()).openapi({ description: `The period's conversations by source (${CONVERSATION_SOURCES.join(", ")}).` }),
    by_status: z.record(z.string(), z.number().int()).openapi({ description: `The period's conversations by their status now (${CONVERSATION_STATUSES.join(", ")}).` }),
    by_tag: z.array(z.object({ tag: z.string(), conversations: z.number().int() })).openapi({ description: "The period's conversations by tag, the 50 most used." }),
    by_agent: z
      .array(z.object({ agent_id: z.string().nullable(), name: z.string().nullable(), conversations: z.number().int(), resolved: z.number().int() }))
      .openapi({ description: "By assignee: conversations created in the period, and conversations resolved in the period; `agent_id: null` for unassigned." }),
    first_response_time: Times.openapi({
      description: "Time from a conversation's creation to the first agent message (automation messages included), over the period's conversations that have one.",
    }),
    resolution_time: Times.openapi({ description: "Time from creation to resolution, over the conversations resolved in the period." }),
    sentiment: z.record(z.string(), z.number().int()).openapi({ description: `The period's conversations by their summary's sentiment (${SENTIMENTS.join(", ")}); \`none\`: not summarised.` }),
    previous_period: Totals.extend({ from: z.string(), to: z.string() }).openapi({ description: "The same totals over the period of the same length just before." }),
  })
  .openapi("Analytics", { example: EXAMPLE });

const get = createRoute({
  method: "get",
  path: "/v1/analytics",
  operationId: "getAnalytics",
  tags: TAGS,
  summary: "Get conversation analytics",
  description: `The workspace's figures over a period of whole days in its time zone (\`settings.timezone\`, UTC when unset): \`days\` (default ${DEFAULT_DAYS}) ending on \`to\` (default today), or \`from\`..\`to\` inclusive, at most ${MAX_DAYS} days. \`channel_id\` and \`agent_id\` narrow everything to those conversations. Any agent and any key with the \`read\` scope may read it. A bad parameter (a malformed date, \`from\` after \`to\`, \`days\` with \`from\`, a period over ${MAX_DAYS} days) is a 400 naming it in \`details.fields\`.`,
  request: { query: AnalyticsQuery },
  responses: { 200: jsonContent(Analytics, "The figures"), ...errorResponses(400, 401, 403) },
});

export const analyticsRouter = createRouter().openapi(get, async (c) => {
  const q = c.req.valid("query");
  const { db } = c.var.services;
  const ws = c.var.principal.workspaceId;
  const zones = await workspaceTimeZone(db, ws);
  const resolved = resolvePeriod(q, zones.timezone);
  if ("problems" in resolved) throw new ApiError("bad_request", `Invalid query parameter: ${Object.keys(resolved.problems).join(", ")}.`, { details: { fields: resolved.problems } });
  return c.json(await analytics(db, ws, resolved.period, q, zones.rollupZone), 200);
});

export { Analytics };
