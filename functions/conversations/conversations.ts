// Routes of /v1/conversations: list, create, get, change, delete, status, assignment, tags.
import { createRoute, z } from "@hono/zod-openapi";
import { actorOf } from "../../lib/events";
import { createRouter } from "../../lib/create-app";
import { attachmentsWithLinks } from "../../lib/files";
import { ApiError, errorResponses } from "../../lib/errors";
import { Deleted, jsonBody, jsonContent, listOf } from "../../lib/openapi";
import { listEnvelope, offsetOf, paginationQuery, parseSort } from "../../lib/pagination";
import { EntityTagBody, Tag, TagParam as TagNameParam } from "../tags/schemas";
import { addEntityTag, removeEntityTag, tagJson } from "../tags/service";
import { contactJson } from "../contacts/service";
import {
  AssignBody,
  ConversationIdParam,
  CONVERSATION_SORTS,
  Conversation,
  ConversationDetail,
  CreateBody,
  ListQuery,
  StatusBody,
  UpdateBody,
} from "./schemas";
import {
  type ConversationSort,
  agentInWorkspace,
  contactInWorkspace,
  conversationJson,
  conversationTags,
  createConversation,
  invalidReference,
  deleteConversation,
  findConversation,
  listConversations,
  markRead,
  updateConversation,
} from "./service";

const TAGS = ["Conversations"];
const Id = ConversationIdParam;
const TagParam = Id.merge(TagNameParam);

const list = createRoute({
  method: "get",
  path: "/v1/conversations",
  operationId: "listConversations",
  tags: TAGS,
  summary: "List conversations",
  description:
    "Filters combine with AND. `tag` is a tag name (case-insensitive); `search` is full-text (the index and syntax of `POST /v1/conversations/search`: stemmed words, `\"phrases\"`, `or`, `-word`) over title, summary, content and messages. Sorted by `sort` (default `-created_at`), with the id breaking ties; for `last_message_at`, conversations without messages come last in both directions.",
  request: { query: ListQuery },
  responses: { 200: jsonContent(listOf(Conversation), "A page of conversations"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/conversations",
  operationId: "createConversation",
  tags: TAGS,
  summary: "Create a conversation",
  description:
    "With `content`, an AI summary is requested: `processing_status` is `processing` until the summary job sets it to `completed` (summary filled) or `failed`. `contact_id` and `session_id` must belong to your workspace (422 otherwise); a session linked to a contact lends it its contact when `contact_id` is absent. `channel_id` and `assistant_id` are checked for shape.",
  request: { body: jsonBody(CreateBody) },
  responses: { 201: jsonContent(Conversation, "The new conversation"), ...errorResponses(401, 403, 409) },
});

const get = createRoute({
  method: "get",
  path: "/v1/conversations/{id}",
  operationId: "getConversation",
  tags: TAGS,
  summary: "Get a conversation",
  description:
    "Returns the conversation with its content, contact, tags, summary and attachments. Read by an agent (access token or session cookie), it resets `unread_count` to 0; reads with an API key do not (server polling must not mark things read). The response shows the count as it was before the read. Each attachment has a signed `url` to its bytes, valid for 15 minutes without credentials.",
  request: { params: Id },
  responses: { 200: jsonContent(ConversationDetail, "The conversation"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/conversations/{id}",
  operationId: "updateConversation",
  tags: TAGS,
  summary: "Change a conversation",
  description:
    "Changes the title, status, assignee and metadata. `metadata` is merged key by key into what is stored (a key set to null is removed), never replaced. A status change keeps `resolved_at` (set on entering resolved or closed, cleared on reopening); `assignee_id` must be an agent of your workspace, or null.",
  request: { params: Id, body: jsonBody(UpdateBody) },
  responses: { 200: jsonContent(Conversation, "The conversation after the change"), ...errorResponses(401, 403, 404) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/conversations/{id}",
  operationId: "deleteConversation",
  tags: TAGS,
  summary: "Delete a conversation",
  description: "Deletes the conversation with its messages and tags.",
  request: { params: Id },
  responses: { 200: jsonContent(Deleted, "Deleted"), ...errorResponses(401, 403, 404) },
});

const setStatus = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/status",
  operationId: "setConversationStatus",
  tags: TAGS,
  summary: "Change a conversation's status",
  description:
    "Any status may follow any other. Entering `resolved` or `closed` sets `resolved_at` (kept when moving between the two); entering `open`, `pending` or `snoozed` clears it. Setting the current status again changes nothing.",
  request: { params: Id, body: jsonBody(StatusBody) },
  responses: { 200: jsonContent(Conversation, "The conversation"), ...errorResponses(401, 403, 404) },
});

const assign = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/assign",
  operationId: "assignConversation",
  tags: TAGS,
  summary: "Assign a conversation",
  description: "Assigns to an agent of your workspace (another workspace's or an unknown agent is 422), or unassigns with `agent_id: null`.",
  request: { params: Id, body: jsonBody(AssignBody) },
  responses: { 200: jsonContent(Conversation, "The conversation"), ...errorResponses(401, 403, 404) },
});

const listTags = createRoute({
  method: "get",
  path: "/v1/conversations/{id}/tags",
  operationId: "listConversationTags",
  tags: TAGS,
  summary: "List a conversation's tags",
  description: "The tags on this conversation, by name (the same shape as contacts' and sessions' tags).",
  request: { params: Id, query: paginationQuery },
  responses: { 200: jsonContent(listOf(Tag), "A page of the conversation's tags"), ...errorResponses(401, 403, 404) },
});

const addTag = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/tags",
  operationId: "addConversationTag",
  tags: TAGS,
  summary: "Tag a conversation",
  description:
    "Tags by name (case-insensitive); an unknown name creates the workspace tag. Answers 201 with the tag when it was added, 200 when the conversation already had it. Writes `tag.added`.",
  request: { params: Id, body: jsonBody(EntityTagBody) },
  responses: {
    201: jsonContent(Tag, "Tag added"),
    200: jsonContent(Tag, "The conversation already had this tag"),
    ...errorResponses(401, 403, 404),
  },
});

const removeTag = createRoute({
  method: "delete",
  path: "/v1/conversations/{id}/tags/{tag}",
  operationId: "removeConversationTag",
  tags: TAGS,
  summary: "Untag a conversation",
  description:
    "`{tag}` is the tag's name (case-insensitive, URL-encoded) or its id. The workspace tag itself stays; 404 when the conversation does not carry it. Writes `tag.removed`.",
  request: { params: TagParam },
  responses: {
    200: jsonContent(z.object({ deleted: z.literal(true), id: z.string().openapi({ example: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r" }) }), "Removed; `id` is the tag's id"),
    ...errorResponses(401, 403, 404),
  },
});

async function withTags(db: Parameters<typeof conversationTags>[0], workspaceId: string, row: Parameters<typeof conversationJson>[0]) {
  const tags = await conversationTags(db, workspaceId, row.id);
  return conversationJson(
    row,
    tags.map((t) => t.name),
  );
}

export const conversationsRouter = createRouter()
  .openapi(list, async (c) => {
    const { page, per_page, sort, ...filters } = c.req.valid("query");
    const order = parseSort<ConversationSort>(sort, CONVERSATION_SORTS, "-created_at");
    const ws = c.var.principal.workspaceId;
    const { total, data } = await listConversations(c.var.services.db, ws, filters, order, { page, per_page });
    return c.json(listEnvelope(c.req.url, { page, per_page }, total, data, c.var.services.config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const p = c.var.principal;
    const row = await createConversation(c.var.services.db, p.workspaceId, c.req.valid("json"), actorOf(p), c.var.services.queue);
    return c.json(conversationJson(row, []), 201);
  })
  .openapi(get, async (c) => {
    const { db } = c.var.services;
    const p = c.var.principal;
    const id = c.req.valid("param").id;
    // The row, its tags and its attachments at once (each query names the workspace): one round
    // trip to the database instead of two; only the contact waits for the row.
    const [row, tags, attachments] = await Promise.all([
      findConversation(db, p.workspaceId, id),
      conversationTags(db, p.workspaceId, id),
      attachmentsWithLinks(c.var.services, p.workspaceId, id),
    ]);
    const contact = row.contactId ? await contactInWorkspace(db, p.workspaceId, row.contactId) : undefined;
    if (p.agentId && row.unreadCount > 0) await markRead(db, p.workspaceId, row.id);
    const { tags: _names, ...item } = conversationJson(row, []);
    return c.json({ ...item, content: row.content, contact: contact ? contactJson(contact) : null, tags: tags.map(tagJson), attachments }, 200);
  })
  .openapi(update, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const row = await updateConversation(db, p.workspaceId, c.req.valid("param").id, c.req.valid("json"), actorOf(p));
    return c.json(await withTags(db, p.workspaceId, row), 200);
  })
  .openapi(remove, async (c) => {
    const p = c.var.principal;
    const { id } = c.req.valid("param");
    await deleteConversation(c.var.services.db, p.workspaceId, id, actorOf(p));
    return c.json({ deleted: true as const, id }, 200);
  })
  .openapi(setStatus, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const row = await updateConversation(db, p.workspaceId, c.req.valid("param").id, { status: c.req.valid("json").status }, actorOf(p));
    return c.json(await withTags(db, p.workspaceId, row), 200);
  })
  .openapi(assign, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const { agent_id } = c.req.valid("json");
    // Checked here too so the 422 names this body's field (PATCH names assignee_id).
    if (agent_id && !(await agentInWorkspace(db, p.workspaceId, agent_id))) throw invalidReference("agent_id", "agent");
    const row = await updateConversation(db, p.workspaceId, c.req.valid("param").id, { assignee_id: agent_id }, actorOf(p));
    return c.json(await withTags(db, p.workspaceId, row), 200);
  })
  .openapi(listTags, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const q = c.req.valid("query");
    const row = await findConversation(db, p.workspaceId, c.req.valid("param").id);
    const all = await conversationTags(db, p.workspaceId, row.id);
    const page = all.slice(offsetOf(q), offsetOf(q) + q.per_page).map(tagJson);
    return c.json(listEnvelope(c.req.url, q, all.length, page, c.var.services.config.publicBaseUrl), 200);
  })
  .openapi(addTag, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const { id } = c.req.valid("param");
    const { tag } = c.req.valid("json");
    const result = await db.transaction(async (tx) => {
      await findConversation(tx, p.workspaceId, id);
      const before = await conversationTags(tx, p.workspaceId, id);
      const added = await addEntityTag(tx, p.workspaceId, "conversation", id, tag, actorOf(p));
      return { tag: added, isNew: !before.some((t) => t.id === added.id) };
    });
    return result.isNew ? c.json(tagJson(result.tag), 201) : c.json(tagJson(result.tag), 200);
  })
  .openapi(removeTag, async (c) => {
    const p = c.var.principal;
    const { db } = c.var.services;
    const { id, tag } = c.req.valid("param");
    const removed = await db.transaction(async (tx) => {
      await findConversation(tx, p.workspaceId, id);
      const carried = (await conversationTags(tx, p.workspaceId, id)).find((t) => t.id === tag || t.name.toLowerCase() === tag.trim().toLowerCase());
      if (!carried) throw new ApiError("not_found", "The conversation does not carry this tag.");
      await removeEntityTag(tx, p.workspaceId, "conversation", id, carried.id, actorOf(p));
      return carried;
    });
    return c.json({ deleted: true as const, id: removed.id }, 200);
  });
