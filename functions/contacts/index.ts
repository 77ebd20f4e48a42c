// Cloudflare Worker entry of the contacts function.
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./app";

// The queue: the events this function records are fanned out right after each request.
export default createWorker(app, withQueue);
