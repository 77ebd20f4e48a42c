// Reply suggestions: GET /v1/conversations/{id}/suggest and its alias GET /v1/ai-suggest. The
// model drafts the next reply an agent could send, from the conversation's recent messages and
// the instructions and knowledge of its assistant (the conversation's own, else the workspace's
// first, else neutral support instructions). Nothing is stored but the tokens spent.
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { assertAiBudget, modelFor } from "../../lib/ai-limits";
import { requireScope } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import type { Db } from "../../lib/db";
import type { AppEnv } from "../../lib/env";
import { ApiError, describeError, errorResponses } from "../../lib/errors";
import { type ChatMessage, systemPrompt } from "../../lib/llm";
import { jsonContent } from "../../lib/openapi";
import { safeParam } from "../../lib/safe-text";
import { assistants } from "../../schema";
import { type AssistantRow, findAssistant } from "./assistants.service";
import { type ConversationRow, findConversation, history, recordUsage } from "./chat.service";
import { DEFAULT_INSTRUCTIONS } from "./reply";
import { SUGGEST_ROUTE } from "./suggest-path";

const TAGS = ["AI"];
const CONV = "conv_01jd3k9v6q8f2m4x7c5b0n1p2r";
/** Longest suggestion asked of the model. */
const MAX_TOKENS = 400;
/** Characters of the conversation's content used when it has no messages yet. */
const CONTENT_BUDGET = 12_000;

export const Suggestion = z
  .object({
    suggestion: z.string().openapi({ example: "Sorry about the damaged order! I've issued a full refund; you'll see it within 5 business days." }),
    model: z.string().openapi({ example: "gpt-4o-mini" }),
  })
  .openapi("ReplySuggestion");

const conversationId = safeParam(200).min(1);

const suggest = createRoute({
  method: "get",
  path: SUGGEST_ROUTE,
  operationId: "suggestReply",
  tags: TAGS,
  summary: "Suggest a reply",
  description: [
    "Drafts the next reply an agent could send, from the conversation's recent messages (notes left out; the content when there are no messages yet)",
    "and the instructions and knowledge of the conversation's assistant, else the workspace's first assistant, else neutral support instructions.",
    "Nothing is sent or stored. Without a model configured, parley-offline answers with a template that quotes the assistant's knowledge.",
    "503 when the model provider fails or times out; 409 when the conversation has nothing to reply to.",
    "It spends model tokens, so an API key needs the `write` scope (a read-only key gets 403), and once the workspace's daily AI token budget is spent it answers 429 (`details.reason: \"ai_token_budget\"`).",
  ].join(" "),
  middleware: [requireScope("write")] as const,
  request: { params: z.object({ id: conversationId.openapi({ param: { name: "id", in: "path" }, example: CONV }) }) },
  responses: { 200: jsonContent(Suggestion, "The suggested reply"), ...errorResponses(401, 403, 404, 409, 429) },
});

const alias = createRoute({
  method: "get",
  path: "/v1/ai-suggest",
  operationId: "suggestReplyByQuery",
  tags: TAGS,
  summary: "Suggest a reply (alias)",
  description: "The same as `GET /v1/conversations/{id}/suggest`, with the conversation as a query parameter (the `write` scope and the AI budget apply alike).",
  middleware: [requireScope("write")] as const,
  request: { query: z.object({ conversation_id: conversationId.openapi({ example: CONV, description: "The conversation to suggest a reply for." }) }) },
  responses: { 200: jsonContent(Suggestion, "The suggested reply"), ...errorResponses(401, 403, 404, 409, 429) },
});

async function assistantFor(db: Db, conv: ConversationRow): Promise<AssistantRow | undefined> {
  if (conv.assistantId) {
    // assistant_id is checked for shape only on conversations: an unknown one falls through.
    const own = await findAssistant(db, conv.workspaceId, conv.assistantId).catch(() => undefined);
    if (own) return own;
  }
  const [first] = await db.select().from(assistants).where(eq(assistants.workspaceId, conv.workspaceId)).orderBy(asc(assistants.createdAt), asc(assistants.id)).limit(1);
  return first;
}

const DRAFTING =
  "You are drafting the next reply that a member of the support team will send to the customer in this conversation. Write only the reply itself, in the customer's language, ready to send: no preamble, no notes to the agent.";

async function suggestFor(c: Context<AppEnv>, id: string) {
  const { db, llm } = c.var.services;
  const ws = c.var.principal.workspaceId;
  const conv = await findConversation(db, ws, id);
  let turns: ChatMessage[] = await history(db, ws, conv.id);
  if (!turns.length && conv.content?.trim()) turns = [{ role: "user", content: conv.content.slice(0, CONTENT_BUDGET) }];
  if (!turns.length) throw new ApiError("conflict", "The conversation has no messages and no content: there is nothing to reply to yet.");
  await assertAiBudget(db, ws);
  const assistant = await assistantFor(db, conv);
  const system = systemPrompt({ instructions: `${assistant?.instructions ?? DEFAULT_INSTRUCTIONS}\n\n${DRAFTING}`, knowledge: assistant?.knowledge });
  const model = modelFor(llm, assistant?.model);
  const done = await llm.complete({ messages: [system, ...turns], model, temperature: assistant?.temperature ?? undefined, maxTokens: MAX_TOKENS, signal: c.req.raw.signal });
  await recordUsage(db, ws, done.model, done.usage).catch((err) => console.error(JSON.stringify({ msg: "usage not recorded", workspace_id: ws, error: describeError(err) })));
  return { suggestion: done.text, model: done.model };
}

export const suggestRouter = createRouter()
  .openapi(suggest, async (c) => c.json(await suggestFor(c, c.req.valid("param").id), 200))
  .openapi(alias, async (c) => c.json(await suggestFor(c, c.req.valid("query").conversation_id), 200));
