// Cloudflare Worker entry of the jobs-automations function (QStash delivers to /jobs/automations).
import { createWorker } from "../../lib/worker";
import { app } from "./automations";

export default createWorker(app);
