// Route of POST /v1/messages/capture: store messages that happened outside Parley.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { captureMessages } from "./capture.service";
import { CaptureBody, CaptureResult } from "./schemas";

const capture = createRoute({
  method: "post",
  path: "/v1/messages/capture",
  operationId: "captureMessages",
  tags: ["Messages"],
  summary: "Capture messages from outside Parley",
  description: [
    "Stores 1 to 100 messages, each addressed by exactly one of `conversation_id`, `session_id` or `contact_id`.",
    "A session's message joins the session's latest open (open, pending or snoozed) conversation, a contact's message the contact's latest open one;",
    "when there is none, one conversation is started per session or contact (titled from its first message).",
    "`external_id` deduplicates per workspace, also within the request: a duplicate is not stored again and its item carries the stored message's id with `duplicate: true`.",
    "`occurred_at` becomes the message's `created_at` (default: now). All or nothing: a reference that is not in your workspace is a 422 naming it",
    "(e.g. `messages.3.conversation_id`) and nothing is written. Captured messages are never delivered; counters move as for sent messages.",
  ].join(" "),
  // Each message names exactly one of conversation_id, session_id, contact_id: a fresh workspace has
  // none of them, so /docs' Test Request shows what to replace (POST /v1/sessions makes one).
  request: {
    body: {
      ...jsonBody(CaptureBody),
      content: {
        "application/json": {
          schema: CaptureBody,
          example: { messages: [{ session_id: "<your ses_… id>", source: "web", sender_type: "contact", content: "Hi, is my order shipped?", external_id: "web-1" }] },
        },
      },
    },
  },
  responses: { 200: jsonContent(CaptureResult, "What was captured and what was a duplicate, in request order"), ...errorResponses(401, 403, 409) },
});

export const captureRouter = createRouter().openapi(capture, async (c) => {
  const p = c.var.principal;
  const result = await captureMessages(c.var.services.db, p.workspaceId, c.req.valid("json").messages, actorOf(p));
  return c.json(result, 200);
});
