// Cloudflare Worker entry of the jobs-deliveries function (QStash delivers to /jobs/deliveries).
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./deliveries";

export default createWorker(app, withQueue);
