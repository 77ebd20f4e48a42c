// /v1/channels (admin only): a workspace's email addresses, WhatsApp numbers and web/api
// sources. Secret config fields are write-only: responses say which are set, never their value.
import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { CHANNEL_SORTS, Channel, ChannelIdParam, ChannelList, ChannelListQuery, CreateChannelBody, DeletedChannel, UpdateChannelBody } from "./channels.schemas";
import { type ChannelSort, channelJson, createChannel, deleteChannel, getChannel, listChannels, updateChannel } from "./channels.service";

const TAGS = ["Channels"];
const admin = () => [requireRole("admin")];

const CONFIG_DOC = [
  "Per type, `config` takes:",
  "**email**: `address` (required: the inbound recipient your Mailgun route forwards, unique across Parley, stored lower-case), `from_name`, `from_address` (defaults to `address`),",
  "and optionally the workspace's own Mailgun account: `mailgun_domain` with `mailgun_api_key` (secret; both or neither), `webhook_signing_key` (secret). Without them Parley's own Mailgun account sends and verifies.",
  "**whatsapp**: `phone_number_id` (required, digits, unique across Parley), `access_token` (required, secret), `business_account_id`, and for a self-managed Meta app `app_secret` (secret) and `verify_token`.",
  "**web**: `website_url`, `welcome_message`. **api**: `description`.",
  "Unknown fields are refused (422), so a misspelt secret is never silently dropped. Secret fields are write-only: no response, log, export or webhook contains them; `secrets_set` says which are set.",
].join(" ");

const list = createRoute({
  method: "get",
  path: "/v1/channels",
  operationId: "listChannels",
  tags: TAGS,
  summary: "List channels",
  description: "Admin-only. The workspace's channels, optionally of one `type`.",
  middleware: admin(),
  request: { query: ChannelListQuery },
  responses: { 200: jsonContent(ChannelList, "A page of channels"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/channels",
  operationId: "createChannel",
  tags: TAGS,
  summary: "Create a channel",
  description: `Admin-only. ${CONFIG_DOC} An email address or phone number id already used by any channel (in any workspace) answers 409.`,
  middleware: admin(),
  request: { body: jsonBody(CreateChannelBody) },
  responses: { 201: jsonContent(Channel, "The new channel"), ...errorResponses(401, 403, 409) },
});

const get = createRoute({
  method: "get",
  path: "/v1/channels/{id}",
  operationId: "getChannel",
  tags: TAGS,
  summary: "Get a channel",
  description: "Admin-only.",
  middleware: admin(),
  request: { params: ChannelIdParam },
  responses: { 200: jsonContent(Channel, "The channel"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/channels/{id}",
  operationId: "updateChannel",
  tags: TAGS,
  summary: "Update a channel",
  description: `Admin-only. Renames it and/or merges \`config\` (fields not given are kept, \`null\` removes an optional field or a secret; the type cannot change). Any config change sets \`status\` back to \`active\`. ${CONFIG_DOC}`,
  middleware: admin(),
  request: { params: ChannelIdParam, body: jsonBody(UpdateChannelBody) },
  responses: { 200: jsonContent(Channel, "The updated channel"), ...errorResponses(401, 403, 404, 409) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/channels/{id}",
  operationId: "deleteChannel",
  tags: TAGS,
  summary: "Delete a channel",
  description:
    "Admin-only. Its conversations are kept (with their `channel_id` and `source`) but stop delivering: an agent reply queued on them fails with `delivery_error.code` `channel_deleted`, and inbound mail to its address is no longer accepted.",
  middleware: admin(),
  request: { params: ChannelIdParam },
  responses: { 200: jsonContent(DeletedChannel, "Deleted"), ...errorResponses(401, 403, 404) },
});

const baseUrl = (url: string, configured?: string) => configured ?? new URL(url).origin;

export const channelsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<ChannelSort>(q.sort, CHANNEL_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listChannels(db, c.var.principal.workspaceId, q, sort, q.type);
    const base = baseUrl(c.req.url, config.publicBaseUrl);
    return c.json(listEnvelope(c.req.url, q, total, rows.map((r) => channelJson(r, base)), config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    const { db, config } = c.var.services;
    const row = await createChannel(db, c.var.principal.workspaceId, c.req.valid("json"));
    return c.json(channelJson(row, baseUrl(c.req.url, config.publicBaseUrl)), 201);
  })
  .openapi(get, async (c) => {
    const { db, config } = c.var.services;
    const row = await getChannel(db, c.var.principal.workspaceId, c.req.valid("param").id);
    return c.json(channelJson(row, baseUrl(c.req.url, config.publicBaseUrl)), 200);
  })
  .openapi(update, async (c) => {
    const { db, config } = c.var.services;
    const row = await updateChannel(db, c.var.principal.workspaceId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(channelJson(row, baseUrl(c.req.url, config.publicBaseUrl)), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deleteChannel(c.var.services.db, c.var.principal.workspaceId, id);
    return c.json({ deleted: true as const, id }, 200);
  });
