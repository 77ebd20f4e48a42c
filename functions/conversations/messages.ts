// Routes of /v1/conversations/{id}/messages: the thread (with `since` for polling) and sending.
import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { deliverAfterCommit } from "../../lib/delivery/publish";
import { checkAttachmentIds } from "../../lib/files";
import { errorResponses } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonBody, jsonContent, listOf } from "../../lib/openapi";
import { listEnvelope } from "../../lib/pagination";
import { listMessages, messageJson, sendMessage } from "./messages.service";
import { ConversationIdParam, Message, MessageListQuery, SendBody } from "./schemas";
import { findConversation } from "./service";
import { prepareSend } from "./whatsapp";

const TAGS = ["Messages"];
const Id = ConversationIdParam;

const list = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/messages",
  operationId: "listMessages",
  tags: TAGS,
  summary: "List a conversation's messages",
  description:
    "Oldest first (the id breaks ties), so a thread reads top to bottom. For polling, pass `since` (an ISO 8601 time, e.g. the `created_at` of the last message you have): only messages created strictly after it are listed. Notes are included: they are private to agents, not hidden from the API.",
  request: { params: Id, query: MessageListQuery },
  responses: { 200: jsonContent(listOf(Message), "A page of messages"), ...errorResponses(401, 403, 404) },
});

const send = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/messages",
  operationId: "createMessage",
  tags: TAGS,
  summary: "Send a message",
  description: [
    "Stores the message and, atomically, moves the conversation's counters: `message_count` always; `last_message_at` for everything but notes;",
    "a `contact` message adds one to `unread_count`; the first `agent` message sets `first_response_at`.",
    "An `agent` message on an `email` or `whatsapp` conversation is delivered on that channel: it is stored with status `queued` and its",
    "`message.created` event carries `deliver: true`, which the channel's sender consumes. A `note` is private: never delivered, never unread.",
    "`attachment_ids` must name files of this workspace (`POST /v1/files`); an unknown or another workspace's id is a 422 naming its position (`attachment_ids.0`). Files not yet attached anywhere become attachments of this conversation (tied to the message).",
    "Delivered on email they are attached (up to 20 MiB together); on WhatsApp each file is one media message (image, video, audio or document by its type, fetched by WhatsApp from a signed link valid 24 hours) with the text as the first one's caption, and the wamids Graph gave are kept in `metadata.whatsapp.sent`.",
    "WhatsApp: agent free text is refused before anything is stored (409 `conflict`, `details.reason: \"outside_messaging_window\"`, with `last_customer_message_at`) when the customer's",
    "last WhatsApp message on that number is older than 24 hours, or there is none; send `template: {name, language, parameters?}` (an approved template) instead of",
    "`content` to reach them: it is stored with a readable content and the template in `metadata.whatsapp.template`. A template on a non-WhatsApp conversation is a 422.",
  ].join(" "),
  request: { params: Id, body: jsonBody(SendBody) },
  responses: { 201: jsonContent(Message, "The stored message"), ...errorResponses(401, 403, 404, 409) },
});

export const messagesRouter = createRouter()
  .openapi(list, async (c) => {
    const { page, per_page, since } = c.req.valid("query");
    const { db, config } = c.var.services;
    const ws = c.var.principal.workspaceId;
    const conv = await findConversation(db, ws, c.req.valid("param").id);
    const { total, data } = await listMessages(db, ws, conv.id, { page, per_page }, since ? new Date(since) : undefined);
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, data, config.publicBaseUrl), 200);
  })
  .openapi(send, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const conv = await findConversation(db, p.workspaceId, c.req.valid("param").id);
    const body = c.req.valid("json");
    await checkAttachmentIds(db, p.workspaceId, body.attachment_ids ?? []);
    // WhatsApp: free text only inside the 24 h window (409 before storing); templates any time.
    const input = await prepareSend(db, conv, body);
    const row = await sendMessage(db, conv, input, { agentId: p.agentId, actor: actorOf(p) });
    // Email/WhatsApp: the deliveries job sends it once this request is done (the sweep if QStash is down).
    if (row.deliveryStatus === "queued") deliverAfterCommit(c.var.services.queue, { workspace_id: p.workspaceId, message_id: row.id });
    return c.json(messageJson(row), 201);
  });
