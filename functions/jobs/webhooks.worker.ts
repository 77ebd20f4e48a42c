// Cloudflare Worker entry of the jobs-webhooks function (QStash delivers to /jobs/webhooks).
import { createWorker } from "../../lib/worker";
import { app } from "./webhooks";

export default createWorker(app);
