// Cloudflare Worker entry of the conversations function.
import { createWorker } from "../../lib/worker";
import { app } from "./app";

export default createWorker(app);
