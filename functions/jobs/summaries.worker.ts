// Cloudflare Worker entry of the jobs-summaries function (QStash delivers to /jobs/summaries).
import { createWorker } from "../../lib/worker";
import { app } from "./summaries";

export default createWorker(app);
