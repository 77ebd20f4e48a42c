// Message capture: messages from outside Parley, each addressed by conversation, session or
// contact, deduplicated by external_id per workspace, stored all-or-nothing in one
// transaction with the conversations they need and their counters and events.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { insertConversation } from "./insert";
import type { Db } from "../../lib/db";
import { ApiError } from "../../lib/errors";
import { noteEvents } from "../../lib/events";
import { newId } from "../../lib/ids";
import { contacts, conversations, events, messages, sessions } from "../../schema";
import { counterSet, MESSAGE_NOW, type SenderType } from "./messages.service";
import type { ConversationRow } from "./service";

export interface CaptureInput {
  conversation_id?: string;
  session_id?: string;
  contact_id?: string;
  source: ConversationRow["source"];
  sender_type: SenderType;
  content: string;
  external_id?: string;
  occurred_at?: string;
}

export interface CaptureItemResult {
  external_id: string | null;
  id: string;
  conversation_id: string;
  duplicate?: true;
}

/** Conversations still being worked on: capture appends to these rather than starting anew. */
const OPEN_STATUSES = ["open", "pending", "snoozed"] as const;

const distinct = (xs: Array<string | undefined>) => [...new Set(xs.filter((x): x is string => x !== undefined))];

/** A title for a conversation capture had to start: the first line of its first message. */
const titleFrom = (content: string) => {
  const line = content.split(/\r?\n/, 1)[0]!.trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || "Captured conversation";
};

export async function captureMessages(db: Db, workspaceId: string, items: CaptureInput[], actor: string) {
  return db.transaction(async (tx) => {
    const convIds = distinct(items.map((m) => m.conversation_id));
    const sesIds = distinct(items.map((m) => m.session_id));
    const ctIds = distinct(items.map((m) => m.contact_id));
    const extIds = distinct(items.map((m) => m.external_id));

    // Everything the batch refers to, in one query per kind.
    const [convRows, sesRows, ctRows, seen] = await Promise.all([
      convIds.length ? tx.select().from(conversations).where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.id, convIds))) : [],
      sesIds.length
        ? tx.select({ id: sessions.id, contactId: sessions.contactId }).from(sessions).where(and(eq(sessions.workspaceId, workspaceId), inArray(sessions.id, sesIds)))
        : [],
      ctIds.length ? tx.select({ id: contacts.id }).from(contacts).where(and(eq(contacts.workspaceId, workspaceId), inArray(contacts.id, ctIds))) : [],
      extIds.length
        ? tx
            .select({ id: messages.id, externalId: messages.externalId, conversationId: messages.conversationId })
            .from(messages)
            .where(and(eq(messages.workspaceId, workspaceId), inArray(messages.externalId, extIds)))
        : [],
    ]);
    const convById = new Map(convRows.map((r) => [r.id, r]));
    const sesById = new Map(sesRows.map((r) => [r.id, r]));
    const ctSet = new Set(ctRows.map((r) => r.id));

    // All-or-nothing: every bad reference is named by its index before anything is written.
    const fields: Record<string, string[]> = {};
    items.forEach((m, i) => {
      if (m.conversation_id && !convById.has(m.conversation_id)) fields[`messages.${i}.conversation_id`] = ["No such conversation in your workspace."];
      if (m.session_id && !sesById.has(m.session_id)) fields[`messages.${i}.session_id`] = ["No such session in your workspace."];
      if (m.contact_id && !ctSet.has(m.contact_id)) fields[`messages.${i}.contact_id`] = ["No such contact in your workspace."];
    });
    if (Object.keys(fields).length) {
      throw new ApiError("validation_error", "Some messages refer to resources that do not exist in your workspace; nothing was captured.", { details: { fields } });
    }

    // Duplicates: already stored, or repeated earlier in this request.
    const known = new Map(seen.map((r) => [r.externalId!, { id: r.id, conversation_id: r.conversationId }]));
    const results: Array<CaptureItemResult | undefined> = new Array(items.length);
    const fresh: Array<{ index: number; item: CaptureInput; id: string }> = [];
    const inRequest = new Map<string, number>();
    items.forEach((item, index) => {
      const ext = item.external_id;
      if (ext !== undefined) {
        const prior = known.get(ext);
        if (prior) {
          results[index] = { external_id: ext, ...prior, duplicate: true };
          return;
        }
        if (inRequest.has(ext)) return; // resolved once the first occurrence has its id
        inRequest.set(ext, index);
      }
      fresh.push({ index, item, id: newId("msg") });
    });

    // Messages without occurred_at share one created_at (the statement's now), and the thread is
    // ordered by (created_at, id): ids handed out in ascending order keep them in the order sent
    // (a ULID's random part is not ordered within a millisecond).
    const ordered = fresh.map((f) => f.id).sort();
    fresh.forEach((f, k) => {
      f.id = ordered[k]!;
    });

    // Each fresh message's conversation: given, or the session's / contact's open one, or a new one.
    const target = await resolveTargets(tx, workspaceId, fresh.map((f) => f.item), convById, sesById, actor);

    const rows = fresh.map((f, k) => ({
      id: f.id,
      workspaceId,
      conversationId: target[k]!.id,
      senderType: f.item.sender_type,
      senderId: f.item.sender_type === "contact" ? target[k]!.contactId : null,
      content: f.item.content,
      status: "complete",
      source: f.item.source,
      externalId: f.item.external_id ?? null,
      createdAt: f.item.occurred_at ? new Date(f.item.occurred_at) : MESSAGE_NOW,
    }));
    // ON CONFLICT: a concurrent request may store the same external_id first; it wins.
    const inserted = rows.length ? await tx.insert(messages).values(rows).onConflictDoNothing().returning({ id: messages.id }) : [];
    const insertedIds = new Set(inserted.map((r) => r.id));
    const lost = rows.filter((r) => !insertedIds.has(r.id) && r.externalId);
    if (lost.length) {
      const winners = await tx
        .select({ id: messages.id, externalId: messages.externalId, conversationId: messages.conversationId })
        .from(messages)
        .where(and(eq(messages.workspaceId, workspaceId), inArray(messages.externalId, lost.map((r) => r.externalId!))));
      for (const w of winners) known.set(w.externalId!, { id: w.id, conversation_id: w.conversationId });
    }
    fresh.forEach((f, k) => {
      const ext = f.item.external_id ?? null;
      results[f.index] = insertedIds.has(f.id)
        ? { external_id: ext, id: f.id, conversation_id: target[k]!.id }
        : { external_id: ext, ...known.get(ext!)!, duplicate: true };
    });
    items.forEach((item, index) => {
      if (results[index]) return;
      const first = results[inRequest.get(item.external_id!)!]!;
      results[index] = { external_id: first.external_id, id: first.id, conversation_id: first.conversation_id, duplicate: true };
    });

    // Counters: one atomic UPDATE per conversation touched.
    const stored = rows.filter((r) => insertedIds.has(r.id));
    const byConv = new Map<string, Array<{ senderType: SenderType; at: Date | null }>>();
    for (const r of stored) {
      const at = r.createdAt instanceof Date ? r.createdAt : null;
      byConv.set(r.conversationId, [...(byConv.get(r.conversationId) ?? []), { senderType: r.senderType, at }]);
    }
    for (const [convId, batch] of byConv) {
      await tx.update(conversations).set(counterSet(batch)).where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, convId)));
    }
    if (stored.length) {
      // One insert for the batch's events, the same rows recordEvent writes.
      await tx.insert(events).values(
        stored.map((r) => ({
          id: newId("evt"),
          workspaceId,
          type: "message.created",
          entityType: "message",
          entityId: r.id,
          actor,
          data: { conversation_id: r.conversationId, sender_type: r.senderType, captured: true, external_id: r.externalId },
        })),
      );
      noteEvents(workspaceId);
    }
    const final = results as CaptureItemResult[];
    return { captured: stored.length, duplicates: final.length - stored.length, items: final };
  });
}

type Target = { id: string; contactId: string | null };

/** Finds or starts the conversation of each message (one per session or contact per request). */
async function resolveTargets(
  tx: Db,
  workspaceId: string,
  items: CaptureInput[],
  convById: Map<string, ConversationRow>,
  sesById: Map<string, { id: string; contactId: string | null }>,
  actor: string,
): Promise<Target[]> {
  const bySession = new Map<string, Target>();
  const byContact = new Map<string, Target>();
  const sesIds = distinct(items.map((m) => m.session_id));
  const ctIds = distinct(items.map((m) => m.contact_id));
  const latestFirst = desc(sql`coalesce(${conversations.lastMessageAt}, ${conversations.createdAt})`);
  if (sesIds.length) {
    const open = await tx
      .selectDistinctOn([conversations.sessionId], { id: conversations.id, key: conversations.sessionId, contactId: conversations.contactId })
      .from(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.sessionId, sesIds), inArray(conversations.status, OPEN_STATUSES)))
      .orderBy(conversations.sessionId, latestFirst);
    for (const r of open) bySession.set(r.key!, { id: r.id, contactId: r.contactId });
  }
  if (ctIds.length) {
    const open = await tx
      .selectDistinctOn([conversations.contactId], { id: conversations.id, key: conversations.contactId, contactId: conversations.contactId })
      .from(conversations)
      .where(and(eq(conversations.workspaceId, workspaceId), inArray(conversations.contactId, ctIds), inArray(conversations.status, OPEN_STATUSES)))
      .orderBy(conversations.contactId, latestFirst);
    for (const r of open) byContact.set(r.key!, { id: r.id, contactId: r.contactId });
  }

  const start = async (item: CaptureInput, sessionId: string | null, contactId: string | null): Promise<Target> => {
    const row = await insertConversation(tx, workspaceId, { title: titleFrom(item.content), source: item.source, sessionId, contactId }, actor, { captured: true });
    return { id: row.id, contactId };
  };

  const out: Target[] = [];
  for (const item of items) {
    if (item.conversation_id) {
      const c = convById.get(item.conversation_id)!;
      out.push({ id: c.id, contactId: c.contactId });
    } else if (item.session_id) {
      let t = bySession.get(item.session_id);
      if (!t) {
        t = await start(item, item.session_id, sesById.get(item.session_id)?.contactId ?? null);
        bySession.set(item.session_id, t);
      }
      out.push(t);
    } else {
      let t = byContact.get(item.contact_id!);
      if (!t) {
        t = await start(item, null, item.contact_id!);
        byContact.set(item.contact_id!, t);
      }
      out.push(t);
    }
  }
  return out;
}
