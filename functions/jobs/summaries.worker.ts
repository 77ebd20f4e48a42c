// Cloudflare Worker entry of the jobs-summaries function (QStash delivers to /jobs/summaries).
// It builds the LLM (and so bundles the openai SDK): OpenAI-compatible when OPENAI_API_KEY is
// set, else parley-offline.
import { llmFromEnv } from "../../lib/llm";
import { lazy } from "../../lib/services";
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./summaries";

export default createWorker(app, withQueue, (services, ctx) => {
  lazy(services, "llm", () => llmFromEnv(ctx.env as Parameters<typeof llmFromEnv>[0]));
});
