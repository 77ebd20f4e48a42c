// The chat function: assistants, streaming chat, polling chat, the OpenAI-compatible endpoint and reply suggestions.
import { createApp } from "../../lib/create-app";
import { ApiError } from "../../lib/errors";
import { assistantsRouter } from "./assistants";
import { chatErrorHandler, openaiRouter } from "./openai";
import { pollingRouter } from "./polling";
import { streamRouter } from "./stream";
import { suggestRouter } from "./suggest";

export const app = createApp().route("/", assistantsRouter).route("/", streamRouter).route("/", pollingRouter).route("/", openaiRouter).route("/", suggestRouter);

// Errors under /v1/openai/ also carry OpenAI's `type` and `param` (for OpenAI SDKs).
app.onError(chatErrorHandler);
app.notFound((c) => chatErrorHandler(new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}.`), c));
