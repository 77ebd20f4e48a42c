// Cloudflare Worker entry of the jobs-events function (QStash delivers to /jobs/events).
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./events";

export default createWorker(app, withQueue);
