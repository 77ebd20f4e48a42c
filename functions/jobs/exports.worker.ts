// Cloudflare Worker entry of the jobs-exports function (QStash delivers to /jobs/exports). It
// publishes its own next chunk, so it has the queue; pdf-lib is bundled here only.
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./exports";

export default createWorker(app, withQueue);
