// Cloudflare Worker entry of the docs function. Its Worker needs the `ASSETS` binding
// (Workers static assets, directory dist/docs-assets, holding docs/scalar.js) for /docs.
// The OpenAPI document is the one `npm run build` generated from the code
// (dist/docs-build/openapi.json), bundled through wrangler's alias `parley:openapi-document`:
// building it here would import every function's app into this Worker.
import document from "parley:openapi-document";
import { createWorker } from "../../lib/worker";
import { serveDocs } from "./serve";

export default createWorker(serveDocs(() => document));
