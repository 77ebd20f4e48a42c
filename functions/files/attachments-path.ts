// The paths under /v1/conversations that the files function answers (uploads and their body
// limit live there). Kept free of imports: the registry uses it to route locally, and the
// conversations Worker to forward such requests to the files Worker.
export const ATTACHMENTS_PATH = /^\/v1\/conversations\/[^/]+\/attachments\/?$/;
/** The same path as documented. */
export const ATTACHMENTS_ROUTE = "/v1/conversations/{id}/attachments";
