// /v1/contacts: the people a workspace talks to. CRUD, search and tag filter, merge, and
// the contact's sessions. Delete is admin-only.
import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { errorResponses, notFound } from "../../lib/errors";
import { jsonBody, jsonContent } from "../../lib/openapi";
import { listWithExample } from "../tags/schemas";
import { listEnvelope, parseSort } from "../../lib/pagination";
import { IdParam as ContactIdParam, CONTACT_EXAMPLE, CONTACT_SORTS, DeletedContact, SESSION_EXAMPLE, Contact, ContactListQuery, ContactSessionsQuery, CreateContactBody, MergeBody, SESSION_SORTS, Session, UpdateContactBody } from "./schemas";
import {
  type ContactSort,
  createContact,
  deleteContact,
  findContact,
  getContact,
  listContacts,
  listSessions,
  mergeContacts,
  type SessionSort,
  updateContact,
} from "./service";

const IdParam = ContactIdParam("ct");

const list = createRoute({
  method: "get",
  path: "/v1/contacts",
  operationId: "listContacts",
  tags: ["Contacts"],
  summary: "List contacts",
  description:
    "Filters: `search` (case-insensitive substring of name, email or phone; `%` and `_` are literal), `tag` (tag name). Sort on `created_at`, `updated_at` or `name` (default `-created_at`). Each contact carries its tags.",
  request: { query: ContactListQuery },
  responses: { 200: jsonContent(listWithExample(Contact, CONTACT_EXAMPLE, "/v1/contacts"), "A page of contacts"), ...errorResponses(401, 403) },
});

const create = createRoute({
  method: "post",
  path: "/v1/contacts",
  operationId: "createContact",
  tags: ["Contacts"],
  summary: "Create a contact",
  description:
    "Every field is optional. Email is stored lower-case; phone is normalized (spaces, dashes, dots and parentheses removed, leading `+` kept). Email and phone are unique per workspace: a taken one answers 409 with `details.existing_contact_id` and `details.fields`. Writes `contact.created`.",
  request: { body: jsonBody(CreateContactBody) },
  responses: { 201: jsonContent(Contact, "The new contact"), ...errorResponses(401, 403, 409) },
});

const get = createRoute({
  method: "get",
  path: "/v1/contacts/{id}",
  operationId: "getContact",
  tags: ["Contacts"],
  summary: "Get a contact",
  description: "The contact with its tags.",
  request: { params: IdParam },
  responses: { 200: jsonContent(Contact, "The contact"), ...errorResponses(401, 403, 404) },
});

const update = createRoute({
  method: "patch",
  path: "/v1/contacts/{id}",
  operationId: "updateContact",
  tags: ["Contacts"],
  summary: "Update a contact",
  description:
    "Changes the fields given; `null` clears name, email or phone. `attributes` is merged key by key into the stored object (a `null` value removes that key). 409 when the new email or phone belongs to another contact. Writes `contact.updated`.",
  request: { params: IdParam, body: jsonBody(UpdateContactBody) },
  responses: { 200: jsonContent(Contact, "The updated contact"), ...errorResponses(401, 403, 404, 409) },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/contacts/{id}",
  operationId: "deleteContact",
  tags: ["Contacts"],
  summary: "Delete a contact",
  description: "Admin-only. Its sessions and conversations stay, unlinked (`contact_id: null`); its tags go. Writes `contact.deleted`.",
  middleware: [requireRole("admin")] as const,
  request: { params: IdParam },
  responses: { 200: jsonContent(DeletedContact, "Deleted"), ...errorResponses(401, 403, 404) },
});

const merge = createRoute({
  method: "post",
  path: "/v1/contacts/{id}/merge",
  operationId: "mergeContact",
  tags: ["Contacts"],
  summary: "Merge another contact into this one",
  middleware: [requireRole("admin")] as const,
  description:
    "Admin-only, like deleting a contact (the mergee is deleted). In one transaction: the mergee's sessions, conversations and tags move to this contact (tags deduplicated), this contact's missing name, email and phone are filled from the mergee, attribute keys this contact lacks are copied, and the mergee is deleted. Writes `contact.merged` (with the moved ids) and `contact.deleted` for the mergee. A `mergee_id` that is this contact or names no contact of the workspace answers 422 with `details.fields.mergee_id`.",
  request: { params: IdParam, body: jsonBody(MergeBody) },
  responses: { 200: jsonContent(Contact, "The surviving contact"), ...errorResponses(401, 403, 404) },
});

const sessionsOf = createRoute({
  method: "get",
  path: "/v1/contacts/{id}/sessions",
  operationId: "listContactSessions",
  tags: ["Contacts", "Sessions"],
  summary: "List a contact's sessions",
  request: { params: IdParam, query: ContactSessionsQuery },
  responses: { 200: jsonContent(listWithExample(Session, SESSION_EXAMPLE, "/v1/contacts/ct_01jd3k9v6q8f2m4x7c5b0n1p2r/sessions"), "A page of sessions"), ...errorResponses(401, 403, 404) },
});

export const contactsRouter = createRouter()
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    const sort = parseSort<ContactSort>(q.sort, CONTACT_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const { rows, total } = await listContacts(db, c.var.principal.workspaceId, q, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  })
  .openapi(create, async (c) => {
    return c.json(await createContact(c.var.services.db, c.var.principal, c.req.valid("json")), 201);
  })
  .openapi(get, async (c) => {
    return c.json(await getContact(c.var.services.db, c.var.principal.workspaceId, c.req.valid("param").id), 200);
  })
  .openapi(update, async (c) => {
    return c.json(await updateContact(c.var.services.db, c.var.principal, c.req.valid("param").id, c.req.valid("json")), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    await deleteContact(c.var.services.db, c.var.principal, id);
    return c.json({ deleted: true as const, id }, 200);
  })
  .openapi(merge, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await mergeContacts(c.var.services.db, c.var.principal, id, c.req.valid("json").mergee_id), 200);
  })
  .openapi(sessionsOf, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const sort = parseSort<SessionSort>(q.sort, SESSION_SORTS, "-created_at");
    const { db, config } = c.var.services;
    const ws = c.var.principal.workspaceId;
    if (!(await findContact(db, ws, id))) throw notFound("contact");
    const { rows, total } = await listSessions(db, ws, { ...q, contact_id: id }, sort);
    return c.json(listEnvelope(c.req.url, q, total, rows, config.publicBaseUrl), 200);
  });
