// Cloudflare Worker entry of the jobs-usage function (QStash delivers to /jobs/usage).
import { createWorker } from "../../lib/worker";
import { app } from "./usage";

export default createWorker(app);
