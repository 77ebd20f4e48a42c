// Cloudflare Worker entry of the docs function. Its Worker needs the `ASSETS` binding
// (Workers static assets, directory dist/docs-assets, holding docs/scalar.js) for /docs.
import { createWorker } from "../../lib/worker";
import { app } from "./app";

export default createWorker(app);
