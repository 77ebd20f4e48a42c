// Cloudflare Worker entry of the jobs-exports function (QStash delivers to /jobs/exports).
import { createWorker } from "../../lib/worker";
import { app } from "./exports";

export default createWorker(app);
