// Entity tags of contacts and sessions: `GET/POST /v1/{kind}s/{id}/tags` and
// `DELETE /v1/{kind}s/{id}/tags/{tag}`. Built once for both kinds so they behave alike.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, errorResponses, notFound } from "../../lib/errors";
import { actorOf } from "../../lib/events";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listEnvelope, offsetOf, paginationQuery } from "../../lib/pagination";
import { EntityTagBody, listWithExample, TAG_EXAMPLE, Tag, TagParam } from "../tags/schemas";
import { addEntityTag, removeEntityTag, tagJson, tagsOf } from "../tags/service";
import { IdParam as EntityIdParam } from "./schemas";
import { assertEntity } from "./service";

const RemovedTag = z
  .object({ deleted: z.literal(true), id: z.string() })
  .openapi("RemovedEntityTag", { example: { deleted: true, id: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r" } });

export function entityTagRoutes(kind: "contact" | "session", group: "Contacts" | "Sessions") {
  const base = `/v1/${kind}s/{id}/tags`;
  const IdParam = EntityIdParam(kind === "contact" ? "ct" : "ses");
  const Kind = kind === "contact" ? "Contact" : "Session";

  const list = createRoute({
    method: "get",
    path: base,
    operationId: `list${Kind}Tags`,
    tags: [group],
    summary: `List a ${kind}'s tags`,
    description: `The tags on this ${kind}, by name.`,
    request: { params: IdParam, query: paginationQuery },
    responses: { 200: jsonContent(listWithExample(Tag, TAG_EXAMPLE, base.replace("{id}", kind === "contact" ? "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" : "ses_01jd3k9v6q8f2m4x7c5b0n1p2r")), "A page of tags"), ...errorResponses(401, 403, 404) },
  });

  const add = createRoute({
    method: "post",
    path: base,
    operationId: `add${Kind}Tag`,
    tags: [group],
    summary: `Tag a ${kind}`,
    description: `Adds the tag by name (case-insensitive); an unknown name creates the workspace tag. Answers 201 with the tag when it was added, 200 when the ${kind} already had it. Writes \`tag.added\`.`,
    request: { params: IdParam, body: jsonBody(EntityTagBody) },
    responses: {
      201: jsonContent(Tag, "Tag added"),
      200: jsonContent(Tag, `The ${kind} already had this tag`),
      ...errorResponses(401, 403, 404),
    },
  });

  const remove = createRoute({
    method: "delete",
    path: `${base}/{tag}`,
    operationId: `remove${Kind}Tag`,
    tags: [group],
    summary: `Remove a tag from a ${kind}`,
    description: `\`{tag}\` is the tag's name (case-insensitive, URL-encoded) or its id. 404 when the ${kind} does not carry it. The workspace tag itself stays. Writes \`tag.removed\`.`,
    request: { params: IdParam.extend(TagParam.shape) },
    responses: { 200: jsonContent(RemovedTag, "Removed; `id` is the tag's id"), ...errorResponses(401, 403, 404) },
  });

  return createRouter()
    .openapi(list, async (c) => {
      const { id } = c.req.valid("param");
      const q = c.req.valid("query");
      const { db, config } = c.var.services;
      const ws = c.var.principal.workspaceId;
      await assertEntity(db, ws, kind, id);
      const all = (await tagsOf(db, ws, kind, [id])).get(id) ?? [];
      const page = all.slice(offsetOf(q), offsetOf(q) + q.per_page).map(tagJson);
      return c.json(listEnvelope(c.req.url, q, all.length, page, config.publicBaseUrl), 200);
    })
    .openapi(add, async (c) => {
      const { id } = c.req.valid("param");
      const { tag: name } = c.req.valid("json");
      const p = c.var.principal;
      const result = await c.var.services.db.transaction(async (tx) => {
        await assertEntity(tx, p.workspaceId, kind, id);
        const before = (await tagsOf(tx, p.workspaceId, kind, [id])).get(id) ?? [];
        const tag = await addEntityTag(tx, p.workspaceId, kind, id, name, actorOf(p));
        return { tag, added: !before.some((t) => t.id === tag.id) };
      });
      return result.added ? c.json(tagJson(result.tag), 201) : c.json(tagJson(result.tag), 200);
    })
    .openapi(remove, async (c) => {
      const { id, tag } = c.req.valid("param");
      const p = c.var.principal;
      const tagId = await c.var.services.db.transaction(async (tx) => {
        await assertEntity(tx, p.workspaceId, kind, id);
        const before = (await tagsOf(tx, p.workspaceId, kind, [id])).get(id) ?? [];
        const wanted = tag.trim().toLowerCase();
        const hit = before.find((t) => t.id === tag || t.name.toLowerCase() === wanted);
        if (!hit) throw notFound("tag on this " + kind);
        const removed = await removeEntityTag(tx, p.workspaceId, kind, id, hit.id, actorOf(p));
        if (!removed) throw new ApiError("not_found", `No such tag on this ${kind}.`);
        return hit.id;
      });
      return c.json({ deleted: true as const, id: tagId }, 200);
    });
}
