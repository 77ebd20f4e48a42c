// Cloudflare Worker entry of the conversations function. /v1/conversations/{id}/suggest is
// answered by the chat function (it needs the model, not bundled here); Cloudflare routes cannot
// carve that path out of /v1/conversations/*, so it arrives here and is forwarded unchanged
// through the FN_CHAT service binding (generated into wrangler.toml from functions/registry.ts).
import type { Env } from "../../lib/env";
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { SUGGEST_PATH } from "../chat/suggest-path";
import { app } from "./app";

const worker = createWorker(app, withQueue);

interface Forwarding {
  FN_CHAT?: { fetch(req: Request): Promise<Response> };
}

export default {
  fetch(request: Request, env: Env & Forwarding, ctx: ExecutionContext) {
    if (env.FN_CHAT && SUGGEST_PATH.test(new URL(request.url).pathname)) return env.FN_CHAT.fetch(request);
    return worker.fetch(request, env, ctx);
  },
};
