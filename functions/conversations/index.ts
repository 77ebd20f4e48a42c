// Cloudflare Worker entry of the conversations function. /v1/conversations/{id}/suggest is
// answered by the chat function (it needs the model, not bundled here); Cloudflare routes cannot
// carve that path out of /v1/conversations/*, so it arrives here and is forwarded unchanged
// through the FN_CHAT service binding (generated into wrangler.toml from functions/registry.ts).
// Likewise /v1/conversations/{id}/attachments goes to the files function (FN_FILES).
import type { Env } from "../../lib/env";
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { SUGGEST_PATH } from "../chat/suggest-path";
import { ATTACHMENTS_PATH } from "../files/attachments-path";
import { app } from "./app";

const worker = createWorker(app, withQueue);

interface Forwarding {
  FN_CHAT?: { fetch(req: Request): Promise<Response> };
  FN_FILES?: { fetch(req: Request): Promise<Response> };
}

export default {
  fetch(request: Request, env: Env & Forwarding, ctx: ExecutionContext) {
    const path = new URL(request.url).pathname;
    if (env.FN_CHAT && SUGGEST_PATH.test(path)) return env.FN_CHAT.fetch(request);
    if (env.FN_FILES && ATTACHMENTS_PATH.test(path)) return env.FN_FILES.fetch(request);
    return worker.fetch(request, env, ctx);
  },
};
