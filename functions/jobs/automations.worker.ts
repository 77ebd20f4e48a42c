// Cloudflare Worker entry of the jobs-automations function (QStash delivers to /jobs/automations).
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./automations";

// The queue: the events this function records are fanned out right after each request.
export default createWorker(app, withQueue);
