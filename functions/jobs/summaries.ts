// The summaries job: summarises one conversation with the LLM and stores the summary.
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";

export const SummaryPayload = z.object({
  workspace_id: z.string().min(1).max(100).openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  summary_id: z.string().min(1).max(100).openapi({ example: "sum_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  conversation_id: z.string().min(1).max(100).openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});
export type SummaryPayload = z.infer<typeof SummaryPayload>;

export const app = createJobApp(
  "summaries",
  SummaryPayload,
  // The summary work is filled in by the summaries area; until then the run is recorded only.
  async () => ({}),
  {
    summary: "Summarise a conversation",
    description: "Generates the AI summary of one conversation (sentiment, topics, action items) and moves the summary from processing to completed or failed.",
  },
);
