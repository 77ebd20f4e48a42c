// The chat function: assistants, streaming chat, polling chat and the OpenAI-compatible endpoint.
import { createApp } from "../../lib/create-app";
import { ApiError } from "../../lib/errors";
import { assistantsRouter } from "./assistants";
import { chatErrorHandler, openaiRouter } from "./openai";
import { pollingRouter } from "./polling";
import { streamRouter } from "./stream";

export const app = createApp().route("/", assistantsRouter).route("/", streamRouter).route("/", pollingRouter).route("/", openaiRouter);

// Errors under /v1/openai/ also carry OpenAI's `type` and `param` (for OpenAI SDKs).
app.onError(chatErrorHandler);
app.notFound((c) => chatErrorHandler(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}.`), c));
