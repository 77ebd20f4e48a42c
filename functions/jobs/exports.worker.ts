// Cloudflare Worker entry of the jobs-exports function (QStash delivers to /jobs/exports). It
// publishes its own next chunk, so it has the queue; pdf-lib is bundled here only. Its statements
// stay on the WebSocket Pool (createPoolWorker): no client waits on a chunk, and the bundle is at
// the size budget without the HTTP transport's code.
import { createPoolWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./exports";

export default createPoolWorker(app, withQueue);
