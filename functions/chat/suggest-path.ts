// The one path under /v1/conversations that the chat function answers (it needs the model,
// which the conversations Worker does not bundle). Kept free of imports: the registry uses it to
// route locally, and the conversations Worker to forward such requests to the chat Worker.
export const SUGGEST_PATH = /^\/v1\/conversations\/[^/]+\/suggest\/?$/;
/** The same path as documented (and as the example a router tries it with). */
export const SUGGEST_ROUTE = "/v1/conversations/{id}/suggest";
