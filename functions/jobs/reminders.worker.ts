// Cloudflare Worker entry of the jobs-reminders function (QStash delivers to /jobs/reminders).
import { createWorker } from "../../lib/worker";
import { app } from "./reminders";

export default createWorker(app);
