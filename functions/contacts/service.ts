// Contacts and sessions: the one place their SQL lives. Every query names the caller's
// workspace; email and phone uniqueness is enforced by the database's unique indexes and
// surfaced as a 409 that names the contact holding the value.
import { and, asc, desc, eq, ilike, inArray, or, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../../lib/auth";
import type { Database, Db } from "../../lib/db";
import { ApiError, notFound, uniqueViolation } from "../../lib/errors";
import { actorOf, newEvent, recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/openapi";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { contacts, contactTags, conversations, events, sessions } from "../../schema";
import { hasTagCondition, type TagRow, tagJson, tagsOf } from "../tags/service";
import type { CONTACT_SORTS, SESSION_SORTS } from "./schemas";
import { normalizePhone } from "./schemas";

export type ContactRow = typeof contacts.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type ContactSort = (typeof CONTACT_SORTS)[number];
export type SessionSort = (typeof SESSION_SORTS)[number];

/** The contact JSON every area embeds (conversations show it in GET /v1/conversations/{id}). */
export const contactJson = (c: ContactRow, tags?: TagRow[]) => ({
  id: c.id,
  name: c.name,
  email: c.email,
  phone: c.phone,
  attributes: c.attributes ?? {},
  ...(tags ? { tags: tags.map(tagJson) } : {}),
  last_seen_at: iso(c.lastSeenAt),
  created_at: c.createdAt.toISOString(),
  updated_at: c.updatedAt.toISOString(),
});
export type ContactJson = ReturnType<typeof contactJson>;

export const sessionJson = (s: SessionRow, tags?: TagRow[]) => ({
  id: s.id,
  contact_id: s.contactId,
  source: s.source,
  metadata: s.metadata ?? {},
  ...(tags ? { tags: tags.map(tagJson) } : {}),
  last_activity_at: iso(s.lastActivityAt),
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});

/** A 422 for an id in the body that names nothing in the caller's workspace. */
export const noSuch = (field: string, what = "contact") =>
  new ApiError("validation_error", "The request body is invalid.", { details: { fields: { [field]: [`No such ${what}.`] } } });

/** `%` and `_` in user input are literals, not wildcards. */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** `(obj || set) - removed`: merges key by key in SQL (no lost update), `null` removes a key. */
function mergeJson(column: SQL | typeof contacts.attributes | typeof sessions.metadata, patch: Record<string, unknown>): SQL {
  const set: Record<string, unknown> = {};
  const removed: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) removed.push(k);
    else set[k] = v;
  }
  return sql`((${column} || ${JSON.stringify(set)}::jsonb) - (select coalesce(array_agg(k), '{}'::text[]) from jsonb_array_elements_text(${JSON.stringify(removed)}::jsonb) as k))`;
}

// ---- contacts ----

export async function findContact(db: Db, workspaceId: string, id: string, forUpdate = false): Promise<ContactRow | undefined> {
  const q = db
    .select()
    .from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), eq(contacts.id, id)))
    .limit(1);
  const [row] = forUpdate ? await q.for("update") : await q;
  return row;
}

export async function getContact(db: Db, workspaceId: string, id: string) {
  const row = await findContact(db, workspaceId, id);
  if (!row) throw notFound("contact");
  const tags = await tagsOf(db, workspaceId, "contact", [row.id]);
  return contactJson(row, tags.get(row.id));
}

async function findBy(db: Db, workspaceId: string, field: "email" | "phone", value: string): Promise<ContactRow | undefined> {
  const cond = field === "email" ? sql`lower(${contacts.email}) = lower(${value})` : eq(contacts.phone, value);
  const [row] = await db
    .select()
    .from(contacts)
    .where(and(eq(contacts.workspaceId, workspaceId), cond))
    .limit(1);
  return row;
}

/** The 409 for an email or phone held by another contact, or null when both are free. */
async function conflictFor(db: Db, workspaceId: string, values: { email?: string | null; phone?: string | null }, exceptId?: string) {
  const fields: Record<string, string[]> = {};
  let existing: string | undefined;
  for (const field of ["email", "phone"] as const) {
    const v = values[field];
    if (!v) continue;
    const holder = await findBy(db, workspaceId, field, v);
    if (holder && holder.id !== exceptId) {
      fields[field] = [`Another contact already has this ${field}.`];
      existing ??= holder.id;
    }
  }
  if (!existing) return null;
  return new ApiError("conflict", `A contact with this ${Object.keys(fields).join(" and ")} already exists.`, {
    details: { existing_contact_id: existing, fields },
  });
}

/** Runs `fn`; a unique violation that slipped past the pre-check (a race) becomes the same 409. */
async function withConflictCheck<T>(db: Database, workspaceId: string, values: { email?: string | null; phone?: string | null }, exceptId: string | undefined, fn: () => Promise<T>) {
  try {
    return await fn();
  } catch (err) {
    if (!uniqueViolation(err)) throw err;
    throw (await conflictFor(db, workspaceId, values, exceptId)) ?? new ApiError("conflict", "A contact with this email or phone already exists.");
  }
}

export interface ContactInput {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  attributes?: Record<string, unknown>;
}

/** A timestamptz as Date#toISOString writes it (UTC, milliseconds cut, not rounded: as a Date read from the row). */
const isoOf = (at: SQL) => sql`to_char(${at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * One statement, so over Neon's HTTP transport one fetch and no WebSocket: the row, unless its
 * email, phone or identifier is taken (ON CONFLICT DO NOTHING: the unique indexes decide, with
 * no read before and no race), and its `contact.created` event made from the row inserted. No
 * row: the 409, naming the contact holding the value (read only then).
 */
export async function createContact(db: Database, p: Principal, input: ContactInput) {
  const ws = p.workspaceId;
  const id = newId("ct");
  const event = newEvent(ws, "contact.created", { type: "contact", id }, actorOf(p));
  const inserted = db
    .$with("inserted")
    .as(
      db
        .insert(contacts)
        .values({ id, workspaceId: ws, name: input.name ?? null, email: input.email ?? null, phone: input.phone ?? null, attributes: input.attributes ?? {} })
        .onConflictDoNothing()
        .returning(),
    );
  // The event's `contact` is contactJson(row) (no tags), built from the inserted row.
  const contact = sql`jsonb_build_object(
    'id', ${inserted.id}, 'name', ${inserted.name}, 'email', ${inserted.email}, 'phone', ${inserted.phone}, 'attributes', ${inserted.attributes},
    'last_seen_at', ${isoOf(sql`${inserted.lastSeenAt}`)}, 'created_at', ${isoOf(sql`${inserted.createdAt}`)}, 'updated_at', ${isoOf(sql`${inserted.updatedAt}`)})`;
  const e = event.values;
  const recorded = db.$with("recorded", {}).as(
    sql`insert into ${events} (id, workspace_id, type, entity_type, entity_id, actor, depth, data)
      select ${e.id}::text, ${e.workspaceId}::text, ${e.type}::text, ${e.entityType}::text, ${inserted.id}, ${e.actor}::text, ${e.depth}::int, jsonb_build_object('contact', ${contact})
      from ${inserted}`,
  );
  const [row] = await db.with(inserted, recorded).select().from(inserted);
  if (!row) throw (await conflictFor(db, ws, input)) ?? new ApiError("conflict", "A contact with this email or phone already exists.");
  event.recorded();
  return contactJson(row, []);
}

export async function updateContact(db: Database, p: Principal, id: string, patch: ContactInput) {
  const ws = p.workspaceId;
  return withConflictCheck(db, ws, patch, id, () =>
    db.transaction(async (tx) => {
      const before = await findContact(tx, ws, id, true);
      if (!before) throw notFound("contact");
      const conflict = await conflictFor(tx, ws, patch, id);
      if (conflict) throw conflict;
      const set: Record<string, unknown> = { updatedAt: new Date() };
      const changed: string[] = [];
      for (const f of ["name", "email", "phone"] as const) {
        if (patch[f] !== undefined && patch[f] !== before[f]) {
          set[f] = patch[f];
          changed.push(f);
        }
      }
      if (patch.attributes && Object.keys(patch.attributes).length) {
        set.attributes = mergeJson(contacts.attributes, patch.attributes);
        changed.push("attributes");
      }
      const tags = await tagsOf(tx, ws, "contact", [id]);
      // Nothing changed: no write, no event, updated_at stays.
      if (!changed.length) return contactJson(before, tags.get(id));
      const [row] = await tx
        .update(contacts)
        .set(set)
        .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, id)))
        .returning();
      await recordEvent(tx, ws, "contact.updated", { type: "contact", id }, actorOf(p), { changed, contact: contactJson(row!) });
      return contactJson(row!, tags.get(id));
    }),
  );
}

export async function deleteContact(db: Database, p: Principal, id: string) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(contacts)
      .where(and(eq(contacts.workspaceId, p.workspaceId), eq(contacts.id, id)))
      .returning();
    if (!row) throw notFound("contact");
    await recordEvent(tx, p.workspaceId, "contact.deleted", { type: "contact", id }, actorOf(p), { contact: contactJson(row) });
  });
}

const CONTACT_SORT_COLUMNS = {
  created_at: contacts.createdAt,
  updated_at: contacts.updatedAt,
  name: sql`lower(${contacts.name})`,
};

export async function listContacts(db: Db, workspaceId: string, q: Page & { search?: string; tag?: string }, sort: SortSpec<ContactSort>) {
  const conds: SQL[] = [eq(contacts.workspaceId, workspaceId)];
  const search = q.search?.trim();
  if (search) {
    const pattern = `%${escapeLike(search)}%`;
    const alts = [ilike(contacts.name, pattern), ilike(contacts.email, pattern), ilike(contacts.phone, pattern)];
    // "+1 (415) 555" finds "+14155550100": compare the query's digits with the stored form too.
    const digits = normalizePhone(search);
    if (digits !== search && /^\+?[0-9]+$/.test(digits)) alts.push(ilike(contacts.phone, `%${digits}%`));
    conds.push(or(...alts)!);
  }
  if (q.tag?.trim()) conds.push(hasTagCondition("contact", contacts.id, workspaceId, q.tag));
  const where = and(...conds);
  const dir = sort.direction === "asc" ? asc : desc;
  const col = CONTACT_SORT_COLUMNS[sort.field];
  const order = sort.field === "name" ? sql`${col} ${sql.raw(sort.direction)} nulls last` : dir(col);
  const [rows, [count]] = await Promise.all([
    db
      .select()
      .from(contacts)
      .where(where)
      .orderBy(order, dir(contacts.id))
      .limit(q.per_page)
      .offset(offsetOf(q)),
    db.select({ n: sql<number>`count(*)::int` }).from(contacts).where(where),
  ]);
  const tags = await tagsOf(db, workspaceId, "contact", rows.map((r) => r.id));
  return { total: Number(count?.n ?? 0), rows: rows.map((r) => contactJson(r, tags.get(r.id))) };
}

/**
 * Merges `mergeeId` into `id` in one transaction: sessions, conversations and tags move over,
 * blank name/email/phone are filled from the mergee, the mergee's attributes fill keys the
 * contact lacks, and the mergee is deleted.
 */
export async function mergeContacts(db: Database, p: Principal, id: string, mergeeId: string) {
  const ws = p.workspaceId;
  const actor = actorOf(p);
  return db.transaction(async (tx) => {
    // Lock both rows in id order so two opposite merges cannot deadlock.
    const locked = await tx
      .select()
      .from(contacts)
      .where(and(eq(contacts.workspaceId, ws), inArray(contacts.id, [id, mergeeId])))
      .orderBy(contacts.id)
      .for("update");
    const target = locked.find((r) => r.id === id);
    if (!target) throw notFound("contact");
    if (id === mergeeId) {
      throw new ApiError("validation_error", "A contact cannot be merged into itself.", { details: { fields: { mergee_id: ["Must differ from the contact's id."] } } });
    }
    const mergee = locked.find((r) => r.id === mergeeId);
    if (!mergee) throw noSuch("mergee_id");
    const now = new Date();

    const movedSessions = await tx
      .update(sessions)
      .set({ contactId: id, updatedAt: now })
      .where(and(eq(sessions.workspaceId, ws), eq(sessions.contactId, mergeeId)))
      .returning({ id: sessions.id });
    const movedConversations = await tx
      .update(conversations)
      .set({ contactId: id, updatedAt: now })
      .where(and(eq(conversations.workspaceId, ws), eq(conversations.contactId, mergeeId)))
      .returning({ id: conversations.id });
    const mergeeTags = await tx
      .select({ tagId: contactTags.tagId })
      .from(contactTags)
      .where(and(eq(contactTags.workspaceId, ws), eq(contactTags.contactId, mergeeId)));
    const addedTags = mergeeTags.length
      ? await tx
          .insert(contactTags)
          .values(mergeeTags.map((t) => ({ workspaceId: ws, contactId: id, tagId: t.tagId })))
          .onConflictDoNothing()
          .returning({ tagId: contactTags.tagId })
      : [];

    const fill: Partial<Record<"name" | "email" | "phone", string>> = {};
    for (const f of ["name", "email", "phone"] as const) if (!target[f] && mergee[f]) fill[f] = mergee[f]!;
    // The unique indexes would refuse a second holder: free the mergee's values first.
    if (fill.email || fill.phone) {
      await tx
        .update(contacts)
        .set({ ...(fill.email ? { email: null } : {}), ...(fill.phone ? { phone: null } : {}) })
        .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, mergeeId)));
    }
    const lastSeen = [target.lastSeenAt, mergee.lastSeenAt].filter((d): d is Date => !!d).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    const [merged] = await tx
      .update(contacts)
      .set({ ...fill, attributes: { ...(mergee.attributes ?? {}), ...(target.attributes ?? {}) }, lastSeenAt: lastSeen, updatedAt: now })
      .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, id)))
      .returning();
    await tx.delete(contacts).where(and(eq(contacts.workspaceId, ws), eq(contacts.id, mergeeId)));

    const tagMap = await tagsOf(tx, ws, "contact", [id]);
    const tags = tagMap.get(id) ?? [];
    for (const t of addedTags) {
      const tag = tags.find((x) => x.id === t.tagId);
      await recordEvent(tx, ws, "tag.added", { type: "contact", id }, actor, { tag: tag?.name, tag_id: t.tagId, reason: "merge" });
    }
    const moved = {
      sessions: movedSessions.map((r) => r.id),
      conversations: movedConversations.map((r) => r.id),
      tags: addedTags.map((r) => r.tagId),
    };
    await recordEvent(tx, ws, "contact.merged", { type: "contact", id }, actor, { mergee_id: mergeeId, moved, filled: Object.keys(fill), mergee: contactJson(mergee) });
    await recordEvent(tx, ws, "contact.deleted", { type: "contact", id: mergeeId }, actor, { merged_into: id, contact: contactJson(mergee) });
    return contactJson(merged!, tags);
  });
}

// ---- sessions ----

export async function findSession(db: Db, workspaceId: string, id: string, forUpdate = false): Promise<SessionRow | undefined> {
  const q = db
    .select()
    .from(sessions)
    .where(and(eq(sessions.workspaceId, workspaceId), eq(sessions.id, id)))
    .limit(1);
  const [row] = forUpdate ? await q.for("update") : await q;
  return row;
}

export async function getSession(db: Db, workspaceId: string, id: string) {
  const row = await findSession(db, workspaceId, id);
  if (!row) throw notFound("session");
  const tags = await tagsOf(db, workspaceId, "session", [row.id]);
  return sessionJson(row, tags.get(row.id));
}

export async function createSession(db: Database, p: Principal, input: { contact_id?: string | null; source?: string; metadata?: Record<string, unknown> }) {
  const ws = p.workspaceId;
  return db.transaction(async (tx) => {
    if (input.contact_id && !(await findContact(tx, ws, input.contact_id))) throw noSuch("contact_id");
    const now = new Date();
    const [row] = await tx
      .insert(sessions)
      .values({ id: newId("ses"), workspaceId: ws, contactId: input.contact_id ?? null, source: input.source ?? "web", metadata: input.metadata ?? {}, lastActivityAt: now })
      .returning();
    if (row!.contactId) await tx.update(contacts).set({ lastSeenAt: now }).where(and(eq(contacts.workspaceId, ws), eq(contacts.id, row!.contactId)));
    await recordEvent(tx, ws, "session.created", { type: "session", id: row!.id }, actorOf(p), { session: sessionJson(row!) });
    return sessionJson(row!, []);
  });
}

export async function updateSession(db: Database, p: Principal, id: string, patch: { contact_id?: string | null; metadata?: Record<string, unknown> }) {
  const ws = p.workspaceId;
  return db.transaction(async (tx) => {
    const before = await findSession(tx, ws, id, true);
    if (!before) throw notFound("session");
    if (patch.contact_id && !(await findContact(tx, ws, patch.contact_id))) throw noSuch("contact_id");
    const set: Record<string, unknown> = { updatedAt: new Date() };
    const changed: string[] = [];
    if (patch.contact_id !== undefined && patch.contact_id !== before.contactId) {
      set.contactId = patch.contact_id;
      changed.push("contact_id");
    }
    if (patch.metadata && Object.keys(patch.metadata).length) {
      set.metadata = mergeJson(sessions.metadata, patch.metadata);
      changed.push("metadata");
    }
    const tags = await tagsOf(tx, ws, "session", [id]);
    if (!changed.length) return sessionJson(before, tags.get(id));
    const [row] = await tx
      .update(sessions)
      .set(set)
      .where(and(eq(sessions.workspaceId, ws), eq(sessions.id, id)))
      .returning();
    await recordEvent(tx, ws, "session.updated", { type: "session", id }, actorOf(p), {
      changed,
      previous_contact_id: before.contactId,
      session: sessionJson(row!),
    });
    return sessionJson(row!, tags.get(id));
  });
}

const SESSION_SORT_COLUMNS = { created_at: sessions.createdAt, updated_at: sessions.updatedAt, last_activity_at: sessions.lastActivityAt };

export async function listSessions(db: Db, workspaceId: string, q: Page & { contact_id?: string; tag?: string }, sort: SortSpec<SessionSort>) {
  const conds: SQL[] = [eq(sessions.workspaceId, workspaceId)];
  if (q.contact_id !== undefined) conds.push(eq(sessions.contactId, q.contact_id));
  if (q.tag?.trim()) conds.push(hasTagCondition("session", sessions.id, workspaceId, q.tag));
  const where = and(...conds);
  const col = SESSION_SORT_COLUMNS[sort.field];
  const order = sql`${col} ${sql.raw(sort.direction)} nulls last`;
  const dir = sort.direction === "asc" ? asc : desc;
  const [rows, [count]] = await Promise.all([
    db
      .select()
      .from(sessions)
      .where(where)
      .orderBy(order, dir(sessions.id))
      .limit(q.per_page)
      .offset(offsetOf(q)),
    db.select({ n: sql<number>`count(*)::int` }).from(sessions).where(where),
  ]);
  const tags = await tagsOf(db, workspaceId, "session", rows.map((r) => r.id));
  return { total: Number(count?.n ?? 0), rows: rows.map((r) => sessionJson(r, tags.get(r.id))) };
}

class IdentifyRetry extends Error {}

/**
 * Finds the contact by email, else by phone, else creates it, and links the session. Safe under
 * concurrency: the unique indexes decide which creator wins; the others find the winner
 * (retrying the whole transaction when a race aborted it).
 */
export async function identifySession(
  db: Database,
  p: Principal,
  sessionId: string,
  input: { email?: string | null; phone?: string | null; name?: string | null; attributes?: Record<string, unknown> },
) {
  const ws = p.workspaceId;
  const actor = actorOf(p);
  const email = input.email || undefined;
  const phone = input.phone || undefined;
  const attempt = () =>
    db.transaction(async (tx) => {
      const session = await findSession(tx, ws, sessionId, true);
      if (!session) throw notFound("session");
      const now = new Date();
      const find = async () => (email ? await findBy(tx, ws, "email", email) : undefined) ?? (phone ? await findBy(tx, ws, "phone", phone) : undefined);
      let contact = await find();
      let created = false;
      if (!contact) {
        const [row] = await tx
          .insert(contacts)
          .values({ id: newId("ct"), workspaceId: ws, email: email ?? null, phone: phone ?? null, name: input.name ?? null, attributes: input.attributes ?? {}, lastSeenAt: now })
          .onConflictDoNothing()
          .returning();
        if (row) {
          contact = row;
          created = true;
          await recordEvent(tx, ws, "contact.created", { type: "contact", id: row.id }, actor, { contact: contactJson(row), session_id: sessionId });
        } else {
          // Someone else created it meanwhile; it is committed now, so it is visible.
          contact = await find();
          if (!contact) throw new IdentifyRetry();
        }
      }
      if (!created) {
        // Fill what the contact lacks; an email or phone held by another contact is left alone.
        const set: Record<string, unknown> = { lastSeenAt: now };
        const changed: string[] = [];
        if (!contact.name && input.name) {
          set.name = input.name;
          changed.push("name");
        }
        if (!contact.email && email && !(await findBy(tx, ws, "email", email))) {
          set.email = email;
          changed.push("email");
        }
        if (!contact.phone && phone && !(await findBy(tx, ws, "phone", phone))) {
          set.phone = phone;
          changed.push("phone");
        }
        if (input.attributes && Object.keys(input.attributes).length) {
          set.attributes = mergeJson(contacts.attributes, input.attributes);
          changed.push("attributes");
        }
        if (changed.length) set.updatedAt = now;
        const [row] = await tx
          .update(contacts)
          .set(set)
          .where(and(eq(contacts.workspaceId, ws), eq(contacts.id, contact.id)))
          .returning();
        contact = row!;
        if (changed.length) await recordEvent(tx, ws, "contact.updated", { type: "contact", id: contact.id }, actor, { changed, contact: contactJson(contact), session_id: sessionId });
      }
      const [linked] = await tx
        .update(sessions)
        .set({ contactId: contact.id, lastActivityAt: now, updatedAt: now })
        .where(and(eq(sessions.workspaceId, ws), eq(sessions.id, sessionId)))
        .returning();
      if (session.contactId !== contact.id) {
        await recordEvent(tx, ws, "session.updated", { type: "session", id: sessionId }, actor, {
          changed: ["contact_id"],
          previous_contact_id: session.contactId,
          session: sessionJson(linked!),
          identified: true,
        });
      }
      const [sTags, cTags] = await Promise.all([tagsOf(tx, ws, "session", [sessionId]), tagsOf(tx, ws, "contact", [contact.id])]);
      return { session: sessionJson(linked!, sTags.get(sessionId)), contact: contactJson(contact, cTags.get(contact.id)), contact_created: created };
    });

  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const retriable = err instanceof IdentifyRetry || uniqueViolation(err);
      if (!retriable || i >= 4) {
        if (retriable) throw new ApiError("conflict", "The contact changed while identifying; try again.");
        throw err;
      }
    }
  }
}

// ---- entity tags (contacts and sessions) ----

export async function assertEntity(db: Db, workspaceId: string, kind: "contact" | "session", id: string) {
  const row = kind === "contact" ? await findContact(db, workspaceId, id) : await findSession(db, workspaceId, id);
  if (!row) throw notFound(kind);
}
