// What a verified inbound email does: the sender becomes (or is found as) a contact of the email
// channel's workspace; In-Reply-To/References thread it into the conversation whose message or
// sent email carries one of those ids (reopened when resolved, snoozed or closed), else it starts a
// new email conversation; its attachments become files (kind `inbound`) within the upload limit and
// the workspace's quota. Each Message-Id is stored once per workspace.
import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { recordEvent } from "../../lib/events";
import { newId } from "../../lib/ids";
import type { Services } from "../../lib/services";
import { MAX_UPLOAD_BYTES, storageLimitBytes, storageUsedBytes } from "../../lib/storage-quota";
import { channels, contacts, conversations, emails, messages, workspaces } from "../../schema";
import { files } from "../../schema/files";
import { insertConversation } from "../conversations/insert";
import { counterSet } from "../conversations/messages.service";
import { cleanFilename, cleanMimeType } from "../files/service";

export type ChannelRow = typeof channels.$inferSelect;

/** Who writes what an inbound email brings, in events. */
export const EMAIL_ACTOR = "email";

/** Statuses a customer's new email brings back to `open`. */
const REOPENS = new Set(["resolved", "snoozed", "closed"]);

export interface InboundEmail {
  /** Message-Id without brackets (synthesized when the email had none). */
  messageId: string;
  from: { email: string; name?: string };
  subject: string;
  /** The customer's new text (quoted history removed). */
  content: string;
  /** In-Reply-To ids, then References ids newest first: the order threading tries them in. */
  threadIds: string[];
  /** Kept as the message's metadata.email. */
  meta: Record<string, unknown>;
  attachments: File[];
  /** Attachment parts already set aside (not files), noted with the ones skipped here. */
  skipped: SkippedAttachment[];
}

export interface SkippedAttachment {
  filename: string;
  size: number;
  reason: "too_large" | "storage_quota_exceeded" | "not_a_file";
}

export type StoreEmailResult =
  | { stored: true; messageId: string; conversationId: string; conversationCreated: boolean; reopened: boolean; attachmentIds: string[]; skipped: SkippedAttachment[] }
  | { stored: false; duplicate: true; messageId: string; conversationId: string };

/** The message already stored for this Message-Id in the workspace, if any. */
async function existing(db: Db, workspaceId: string, messageId: string) {
  const [row] = await db
    .select({ id: messages.id, conversationId: messages.conversationId })
    .from(messages)
    .where(and(eq(messages.workspaceId, workspaceId), eq(messages.externalId, messageId)))
    .limit(1);
  return row;
}

interface PlannedFile {
  file: File;
  id: string;
  key: string;
  filename: string;
  mimeType: string;
  size: number;
}

/** Stores one inbound email on channel `ch` (its own transaction; attachment bytes before it). */
export async function storeInboundEmail(services: Pick<Services, "db" | "storage">, ch: ChannelRow, email: InboundEmail): Promise<StoreEmailResult> {
  const { db, storage } = services;
  const ws = ch.workspaceId;
  // A redelivery with attachments is answered before any of them is read or stored (without
  // attachments the transaction's own check is enough, and saves a round trip).
  if (email.attachments.length) {
    const seen = await existing(db, ws, email.messageId);
    if (seen) return { stored: false, duplicate: true, messageId: seen.id, conversationId: seen.conversationId };
  }

  const skipped: SkippedAttachment[] = [...email.skipped];
  const planned: PlannedFile[] = [];
  let pendingBytes = 0;
  if (email.attachments.length) {
    const [w] = await db.select({ plan: workspaces.plan }).from(workspaces).where(eq(workspaces.id, ws)).limit(1);
    const limit = storageLimitBytes(w?.plan);
    const used = await storageUsedBytes(db, ws);
    for (const file of email.attachments) {
      const filename = cleanFilename(file.name);
      if (file.size > MAX_UPLOAD_BYTES) skipped.push({ filename, size: file.size, reason: "too_large" });
      else if (used + pendingBytes + file.size > limit) skipped.push({ filename, size: file.size, reason: "storage_quota_exceeded" });
      else {
        const id = newId("file");
        planned.push({ file, id, key: `${ws}/${id}`, filename, mimeType: cleanMimeType(file.type), size: file.size });
        pendingBytes += file.size;
      }
    }
  }

  const written: string[] = [];
  const discard = (keys: string[]) => Promise.all(keys.map((k) => storage.delete(k).catch(() => undefined)));
  try {
    for (const plan of planned) {
      await storage.put(plan.key, new Uint8Array(await plan.file.arrayBuffer()), plan.mimeType);
      written.push(plan.key);
    }
    const result = await db.transaction(async (tx) => {
      // One sender's emails are stored one at a time: two deliveries of the same email (Mailgun
      // retries) cannot both create the contact, the conversation or the message.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`mg:${ws}:${email.from.email}`}, 0))`);
      const again = await existing(tx, ws, email.messageId);
      if (again) return { stored: false, duplicate: true, messageId: again.id, conversationId: again.conversationId } as const;

      const contactId = await findOrCreateContact(tx, ws, email.from.email, email.from.name);
      const thread = await threadOf(tx, ws, email.threadIds);
      let conversationId: string;
      let reopened = false;
      if (thread) {
        conversationId = thread.id;
        if (REOPENS.has(thread.status)) {
          await tx.update(conversations).set({ status: "open", resolvedAt: null, updatedAt: sql`now()` }).where(eq(conversations.id, thread.id));
          await recordEvent(tx, ws, "conversation.status_changed", { type: "conversation", id: thread.id }, EMAIL_ACTOR, {
            from: thread.status,
            to: "open",
            reason: "customer_replied",
          });
          reopened = true;
        }
      } else {
        const row = await insertConversation(
          tx,
          ws,
          {
            title: email.subject || "(no subject)",
            source: "email",
            contactId,
            channelId: ch.id,
            metadata: { email: { address: ch.inboundKey, from: email.from.email, message_id: email.messageId } },
          },
          EMAIL_ACTOR,
        );
        conversationId = row.id;
      }

      // The quota is binding here, under the same lock uploads take (functions/files/service.ts).
      let kept = planned;
      if (planned.length) {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`parley:quota:${ws}`}, 0))`);
        const [w] = await tx.select({ plan: workspaces.plan }).from(workspaces).where(eq(workspaces.id, ws)).limit(1);
        const limit = storageLimitBytes(w?.plan);
        let used = await storageUsedBytes(tx, ws);
        kept = [];
        for (const f of planned) {
          if (used + f.size > limit) skipped.push({ filename: f.filename, size: f.size, reason: "storage_quota_exceeded" });
          else {
            kept.push(f);
            used += f.size;
          }
        }
      }

      const id = newId("msg");
      const [row] = await tx
        .insert(messages)
        .values({
          id,
          workspaceId: ws,
          conversationId,
          senderType: "contact",
          senderId: contactId,
          content: email.content,
          status: "complete",
          source: "email",
          externalId: email.messageId,
          attachmentIds: kept.map((f) => f.id),
          metadata: { email: { ...email.meta, channel_id: ch.id, ...(skipped.length ? { skipped_attachments: skipped } : {}) } },
        })
        .onConflictDoNothing()
        .returning({ id: messages.id });
      if (!row) {
        const other = await existing(tx, ws, email.messageId);
        return { stored: false, duplicate: true, messageId: other!.id, conversationId: other!.conversationId } as const;
      }
      if (kept.length) {
        await tx.insert(files).values(
          kept.map((f) => ({
            id: f.id,
            workspaceId: ws,
            kind: "inbound" as const,
            filename: f.filename,
            size: f.size,
            mimeType: f.mimeType,
            storageKey: f.key,
            conversationId,
            messageId: id,
            createdBy: contactId,
          })),
        );
      }
      await tx
        .update(conversations)
        .set(counterSet([{ senderType: "contact", at: null }]))
        .where(and(eq(conversations.workspaceId, ws), eq(conversations.id, conversationId)));
      await recordEvent(tx, ws, "message.created", { type: "message", id }, EMAIL_ACTOR, {
        conversation_id: conversationId,
        sender_type: "contact",
        source: "email",
        channel_id: ch.id,
        external_id: email.messageId,
        attachment_ids: kept.map((f) => f.id),
      });
      return {
        stored: true,
        messageId: id,
        conversationId,
        conversationCreated: !thread,
        reopened,
        attachmentIds: kept.map((f) => f.id),
        skipped,
      } as const;
    });
    const keptKeys = new Set(result.stored ? planned.filter((f) => result.attachmentIds.includes(f.id)).map((f) => f.key) : []);
    await discard(written.filter((k) => !keptKeys.has(k)));
    return result;
  } catch (err) {
    await discard(written);
    throw err;
  }
}

/** The workspace's contact with this email (seen now, named if it had no name), created when there is none. */
async function findOrCreateContact(tx: Db, ws: string, email: string, name: string | undefined): Promise<string> {
  // Found and touched in one statement (the unique index is on lower(email)).
  const touch = () =>
    tx
      .update(contacts)
      .set({ lastSeenAt: sql`greatest(${contacts.lastSeenAt}, now())`, ...(name ? { name: sql`coalesce(${contacts.name}, ${name})` } : {}) })
      .where(and(eq(contacts.workspaceId, ws), sql`lower(${contacts.email}) = ${email}`))
      .returning({ id: contacts.id });
  const [found] = await touch();
  if (found) return found.id;
  const id = newId("ct");
  const [made] = await tx
    .insert(contacts)
    .values({ id, workspaceId: ws, name: name ?? null, email, lastSeenAt: sql`now()` })
    .onConflictDoNothing()
    .returning({ id: contacts.id });
  if (!made) {
    const [again] = await touch();
    return again!.id;
  }
  await recordEvent(tx, ws, "contact.created", { type: "contact", id }, EMAIL_ACTOR, { source: "email", email });
  return id;
}

/**
 * The workspace's conversation an email replies to: the first of `ids` (In-Reply-To first, then
 * References newest first) that is the Message-Id of one of its messages (inbound or delivered)
 * or of an email it sent, whose conversation still exists.
 */
async function threadOf(tx: Db, ws: string, ids: string[]): Promise<{ id: string; status: string } | undefined> {
  if (!ids.length) return undefined;
  // One round trip: both kinds of reference, joined to the conversations that still exist.
  const byMessage = tx
    .select({ ref: messages.externalId, id: conversations.id, status: conversations.status })
    .from(messages)
    .innerJoin(conversations, and(eq(conversations.id, messages.conversationId), eq(conversations.workspaceId, ws)))
    .where(and(eq(messages.workspaceId, ws), inArray(messages.externalId, ids)));
  const byEmail = tx
    .select({ ref: emails.providerMessageId, id: conversations.id, status: conversations.status })
    .from(emails)
    .innerJoin(conversations, and(eq(conversations.id, emails.conversationId), eq(conversations.workspaceId, ws)))
    .where(and(eq(emails.workspaceId, ws), inArray(emails.providerMessageId, ids), isNotNull(emails.conversationId)));
  const rows = await byMessage.unionAll(byEmail);
  for (const ref of ids) {
    const hit = rows.find((r) => r.ref === ref);
    if (hit) return { id: hit.id, status: hit.status };
  }
  return undefined;
}

/** The email channels whose address is one of `addresses` (lower case). */
export async function emailChannels(db: Db, addresses: string[]): Promise<ChannelRow[]> {
  if (!addresses.length) return [];
  return db
    .select()
    .from(channels)
    .where(and(eq(channels.type, "email"), inArray(channels.inboundKey, addresses)));
}
