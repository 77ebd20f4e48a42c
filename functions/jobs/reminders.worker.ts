// Cloudflare Worker entry of the jobs-reminders function (QStash delivers to /jobs/reminders).
// It publishes the delivery jobs of the emails and WhatsApp messages it queues, so it has the queue.
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./reminders";

export default createWorker(app, withQueue);
