// Cloudflare Worker entry of the jobs-webhooks function (QStash delivers to /jobs/webhooks).
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./webhooks";

// The queue: the events this function records are fanned out right after each request.
export default createWorker(app, withQueue);
