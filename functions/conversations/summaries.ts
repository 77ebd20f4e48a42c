// Routes of summaries: POST/GET /v1/conversations/{id}/summaries and GET /v1/summaries/{id}.
// They read and write the database and publish the job; the model runs in jobs-summaries.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonContent, listOf, orNull, Timestamp } from "../../lib/openapi";
import { listEnvelope, paginationQuery } from "../../lib/pagination";
import { safeParam } from "../../lib/safe-text";
import { SUMMARY_STATUSES, SUMMARY_STYLES } from "../../schema";
import { ConversationIdParam, Summary as SummaryResult } from "./schemas";
import { findConversation } from "./service";
import { findSummary, insertSummaryRequest, listSummaries, publishSummary, summaryJson } from "./summaries.service";

const TAGS = ["Summaries"];
const EX = { sum: "sum_01jd3k9v6q8f2m4x7c5b0n1p2r", conv: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r", at: "2026-11-24T12:00:00.000Z", done: "2026-11-24T12:00:03.000Z" };

export const SummaryRequestBody = z
  .object({
    language: z
      .string()
      .trim()
      .min(2)
      .max(35)
      .regex(/^\p{L}[\p{L} -]*$/u, "A language tag (es, pt-BR) or name (Spanish).")
      .optional()
      .openapi({ example: "es", description: "Language to write the summary in (default: the conversation's own). parley-offline cannot translate: its summaries stay in the conversation's language." }),
    style: z.enum(SUMMARY_STYLES).optional().openapi({ example: "bullets", description: "concise (default), detailed, or bullets." }),
  })
  .strict()
  .openapi("SummaryRequest");

export const SummaryAccepted = z
  .object({
    id: z.string().openapi({ example: EX.sum }),
    conversation_id: z.string().openapi({ example: EX.conv }),
    status: z.literal("processing"),
    created_at: Timestamp,
  })
  .openapi("SummaryAccepted");

export const SummaryObject = z
  .object({
    id: z.string().openapi({ example: EX.sum }),
    conversation_id: z.string().openapi({ example: EX.conv }),
    status: z.enum(SUMMARY_STATUSES).openapi({ example: "completed" }),
    language: z.string().nullable().openapi({ example: null, description: "The language asked for (null: the conversation's own)." }),
    style: z.enum(SUMMARY_STYLES).openapi({ example: "concise" }),
    result: orNull(SummaryResult).openapi({
      description: "The summary once completed.",
      example: {
        title: "Broken order A-1042 refunded",
        content: "The customer's order arrived broken. The agent apologised and issued a refund.",
        sentiment: "mixed",
        topics: ["refund", "damaged order"],
        action_items: ["Send the return label"],
        language: "en",
        style: "concise",
      },
    }),
    error: z.string().nullable().openapi({ example: null, description: "Why it failed (the provider's error, or the queue's); a new POST regenerates it." }),
    model: z.string().nullable().openapi({ example: "gpt-4o-mini" }),
    usage: z
      .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int(), estimated: z.boolean() })
      .nullable()
      .openapi({ example: { prompt_tokens: 812, completion_tokens: 96, total_tokens: 908, estimated: false } }),
    created_at: Timestamp,
    completed_at: z.string().nullable().openapi({ example: EX.done }),
  })
  .openapi("Summary");

const SummaryIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: EX.sum }),
});

const create = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/summaries",
  operationId: "createSummary",
  tags: TAGS,
  summary: "Request a summary",
  description: [
    "Starts a new AI summary of the conversation (its content and messages, notes left out) and answers 202 at once;",
    "poll `GET /v1/summaries/{id}` (or the conversation's `processing_status`) until `completed` or `failed`.",
    "Each request is a new summary in the history, so this is also how a failed summary is regenerated. When it completes,",
    "its result becomes the conversation's `summary`, unless a newer request was made meanwhile.",
    "The body is optional. 409 when the conversation has neither content nor messages; 503 when the job cannot be queued",
    "(the summary is then recorded as failed with that error, `details.summary_id` names it).",
  ].join(" "),
  request: {
    params: ConversationIdParam,
    body: { content: { "application/json": { schema: SummaryRequestBody } }, required: false, description: "Optional: language and style." },
  },
  responses: { 202: jsonContent(SummaryAccepted, "Accepted: the summary is being generated"), ...errorResponses(401, 403, 404, 409) },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/summaries",
  operationId: "listSummaries",
  tags: TAGS,
  summary: "List a conversation's summaries",
  description: "Every summary requested for the conversation, newest first, failed ones with their error.",
  request: { params: ConversationIdParam, query: paginationQuery },
  responses: { 200: jsonContent(listOf(SummaryObject), "A page of summaries"), ...errorResponses(401, 403, 404) },
});

const get = createRoute({
  method: "get",
  path: "/v1/summaries/{id}",
  operationId: "getSummary",
  tags: TAGS,
  summary: "Get a summary",
  description: "The summary with its status, and its result (completed) or error (failed).",
  request: { params: SummaryIdParam },
  responses: { 200: jsonContent(SummaryObject, "The summary"), ...errorResponses(401, 403, 404) },
});

export const summariesRouter = createRouter()
  .openapi(create, async (c) => {
    const p = c.var.principal;
    const { db, queue } = c.var.services;
    // No body (or no JSON content type) means the defaults.
    const body = (c.req.valid("json") as z.infer<typeof SummaryRequestBody> | undefined) ?? {};
    const conv = await findConversation(db, p.workspaceId, c.req.valid("param").id);
    if (!conv.content?.trim() && conv.messageCount === 0) {
      throw new ApiError("conflict", "The conversation has no content and no messages: there is nothing to summarise yet.");
    }
    const row = await db.transaction((tx) => insertSummaryRequest(tx, p.workspaceId, conv.id, body, actorOf(p)));
    const sent = await publishSummary(db, queue, row);
    if (!sent.ok) throw new ApiError("service_unavailable", sent.error, { details: { summary_id: row.id } });
    return c.json({ id: row.id, conversation_id: row.conversationId, status: "processing" as const, created_at: row.createdAt.toISOString() }, 202);
  })
  .openapi(listRoute, async (c) => {
    const { page, per_page } = c.req.valid("query");
    const { db, config } = c.var.services;
    const ws = c.var.principal.workspaceId;
    const conv = await findConversation(db, ws, c.req.valid("param").id);
    const { total, data } = await listSummaries(db, ws, conv.id, { page, per_page });
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, data, config.publicBaseUrl), 200);
  })
  .openapi(get, async (c) => {
    const row = await findSummary(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(summaryJson(row), 200);
  });
