// POST /v1/conversations/search: full-text search over titles, summaries, content and
// messages, with filters, relevance or date order, and highlighted, HTML-safe snippets.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { MAX_PER_PAGE } from "../../lib/pagination";
import { storableText } from "../../lib/safe-text";
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from "../../schema";
import { compileQuery, dateBound, SEARCH_LIMITS, SEARCH_SORTS, type SearchFilters, searchConversations } from "./search.service";

const RANKED = SEARCH_LIMITS.rankWindow.toLocaleString("en");
const CAP = SEARCH_LIMITS.countCap.toLocaleString("en");

const UNSTORABLE = "Contains characters that cannot be stored (NUL or a lone surrogate).";
const SENTIMENTS = ["positive", "neutral", "negative", "mixed"] as const;

/** One value or a list of them (any of them matches). */
const oneOrMany = <T extends z.ZodType>(item: T, example: unknown) => z.union([item, z.array(item).min(1).max(20)]).optional().openapi({ example });
const label = z.string().trim().min(1).max(100).refine(storableText, UNSTORABLE);
const dateOrTime = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .openapi({ description: "A date (`YYYY-MM-DD`, whole days in UTC) or an ISO 8601 timestamp." });

export const SearchBody = z
  .object({
    query: z
      .string()
      .max(1000)
      .refine(storableText, UNSTORABLE)
      .default("")
      .openapi({
        example: '"late delivery" refund -spam',
        description:
          "What to look for, in web-search syntax: words (stemmed: `delays` finds `delayed`), `\"quoted phrases\"`, `or`, and `-word` to exclude. Any string is accepted. An empty string lists every conversation that passes the filters (newest first); a string with nothing searchable in it (only stop words or punctuation) finds nothing.",
      }),
    filters: z
      .object({
        date_from: dateOrTime.optional().openapi({ example: "2026-11-01" }),
        date_to: dateOrTime.optional().openapi({ example: "2026-11-30", description: "Inclusive: a date includes that whole day (UTC)." }),
        topics: oneOrMany(label, ["billing"]).openapi({ description: "Summary topics (case-insensitive); any of them matches." }),
        sentiment: oneOrMany(z.enum(SENTIMENTS), "negative").openapi({ description: "Summary sentiment; any of them matches." }),
        status: oneOrMany(z.enum(CONVERSATION_STATUSES), ["open", "pending"]).openapi({ description: "Any of these statuses." }),
        source: oneOrMany(z.enum(CONVERSATION_SOURCES), "email").openapi({ description: "Any of these sources." }),
        tags: oneOrMany(label, ["vip"]).openapi({ description: "Tag names (case-insensitive); a conversation with any of them matches." }),
      })
      .strict()
      .default({})
      .openapi({ description: "Every filter given must hold (AND); a list inside one filter means any of its values (OR)." }),
    sort: z.enum(SEARCH_SORTS).default("relevance").openapi({ example: "relevance", description: "`relevance` (best first, then newest), `created_at` or `-created_at`." }),
    page: z.number().int().min(1).max(1_000_000).default(1).openapi({ example: 1 }),
    per_page: z.number().int().min(1).max(MAX_PER_PAGE).default(20).openapi({ example: 20 }),
  })
  .openapi("SearchConversations");

const SearchHit = z
  .object({
    id: z.string().openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    title: z.string().openapi({ example: "Late delivery of order A-1042" }),
    snippet: z.string().openapi({
      example: "… the parcel was <mark>delayed</mark> again and I want a <mark>refund</mark> …",
      description: "The best matching passages. HTML-escaped; the only markup is `<mark>…</mark>` around the matched words.",
    }),
    score: z.number().openapi({
      example: 0.1234,
      description: "Relevance in (0, 1], higher is better; comparable between hits of one query, not across queries. 1 for every hit of an empty query.",
    }),
    status: z.enum(CONVERSATION_STATUSES).openapi({ example: "open" }),
    source: z.enum(CONVERSATION_SOURCES).openapi({ example: "email" }),
    created_at: z.string().openapi({ example: "2026-11-24T12:00:00.000Z" }),
  })
  .openapi("SearchHit");

const SearchResult = z
  .object({
    data: z.array(SearchHit),
    meta: z.object({
      page: z.number().int(),
      per_page: z.number().int(),
      total: z.number().int().openapi({
        example: 42,
        description: `How many conversations match: exact when \`total_exact\` is true; when more than ${CAP} match (and the page is not deeper), the planner's estimate (at least ${CAP} + 1).`,
      }),
      total_exact: z.boolean().openapi({ example: true, description: `False when \`total\` is an estimate (more than ${CAP} matches).` }),
      total_pages: z.number().int().openapi({
        example: 3,
        description: `Pages that can hold hits: under \`relevance\` at most ${RANKED} hits are ranked (see the route's description), so at most ${RANKED} / per_page pages.`,
      }),
      took_ms: z.number().openapi({ example: 4.2, description: "Time the server spent on the search, in milliseconds." }),
    }),
  })
  .openapi("SearchResult");

const search = createRoute({
  method: "post",
  path: "/v1/conversations/search",
  operationId: "searchConversations",
  tags: ["Conversations"],
  summary: "Search conversations",
  description:
    `Full-text search (PostgreSQL, GIN-indexed) over each conversation's title (weighted highest), summary, content and messages, in the workspace's text-search language (\`search_language\` setting: \`english\`, with stemming, or \`simple\` for mixed languages). Messages are searchable as soon as they are stored. Ranked by cover density, normalized for length; \`score\` is rank/(rank+1). Relevance over very broad queries: when more than ${RANKED} conversations match, the ${RANKED} most recent matches are the ones ranked (best first) and paged; later pages are empty, and a \`created_at\`/\`-created_at\` sort pages through every match. \`meta.total\` is exact up to ${CAP} matches and an estimate beyond (\`meta.total_exact: false\`). Only the first 60,000 characters of content and 20,000 of each message are indexed. A read: API keys with \`write\` scope (needed for any POST) may call it.`,
  request: { body: jsonBody(SearchBody) },
  responses: { 200: jsonContent(SearchResult, "A page of hits, best first"), ...errorResponses(401, 403, 422) },
});

const asList = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export const searchRouter = createRouter().openapi(search, async (c) => {
  const started = performance.now();
  const body = c.req.valid("json");
  const f = body.filters;
  if (f.date_from && f.date_to && dateBound(f.date_from, "from") >= dateBound(f.date_to, "to")) {
    throw new ApiError("validation_error", "date_from must be before date_to.", { details: { fields: { "filters.date_from": ["Must be before date_to."] } } });
  }
  const filters: SearchFilters = {
    date_from: f.date_from,
    date_to: f.date_to,
    topics: asList(f.topics),
    sentiment: asList(f.sentiment),
    status: asList(f.status),
    source: asList(f.source),
    tags: asList(f.tags),
  };
  const { db } = c.var.services;
  const workspaceId = c.var.principal.workspaceId;
  const q = await compileQuery(db, workspaceId, body.query);
  const page = { page: body.page, per_page: body.per_page };
  const { total, totalExact, totalPages, hits } = await searchConversations(db, workspaceId, q, filters, body.sort, page);
  const took = Math.round((performance.now() - started) * 100) / 100;
  return c.json(
    {
      data: hits as z.infer<typeof SearchHit>[],
      meta: { page: page.page, per_page: page.per_page, total, total_exact: totalExact, total_pages: totalPages, took_ms: took },
    },
    200,
  );
});
