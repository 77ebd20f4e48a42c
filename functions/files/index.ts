// Cloudflare Worker entry of the files function.
import { createWorker } from "../../lib/worker";
import { withQueue } from "../../lib/worker-queue";
import { app } from "./app";

export default createWorker(app, withQueue);
