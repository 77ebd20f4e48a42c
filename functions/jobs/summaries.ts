// The summaries job: summarises one conversation with the LLM and stores the summary.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";
import { commitSummary, prepareSummary, type SummaryWork } from "./summarize";

export const SummaryPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  summary_id: z.string().min(1).max(100).openapi({ example: "sum_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  conversation_id: z.string().min(1).max(100).openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type SummaryPayload = z.infer<typeof SummaryPayload>;

export const app = createJobApp(
  "summaries",
  SummaryPayload,
  // Two steps (see summarize.ts): the model is called outside any transaction, once per logical job.
  {
    work: (payload, meta): Promise<SummaryWork> => prepareSummary(meta.services.db, meta.services.llm, payload, meta),
    commit: (tx, payload, _meta, work) => commitSummary(tx, payload, work),
    // Longer than the model's deadline (OPENAI_TIMEOUT_MS, 30 s by default) with its one retry.
    leaseMs: 180_000,
  },
  {
    summary: "Summarise a conversation",
    description:
      "Generates the AI summary of one conversation (title, content, sentiment, topics, action items) from its content and messages (notes left out, ~24,000 characters: the start and the most recent messages), stores it on the summary and the conversation, and moves both from processing to completed or failed. A provider failure is answered 503 (QStash retries) until the last attempt, which records the summary as failed with the error.",
  },
);
