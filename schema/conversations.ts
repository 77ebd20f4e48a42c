// Conversations and their messages: the inbox and the conversation-intelligence record.
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { contacts, sessions } from "./contacts";
import { agents, workspaces } from "./identity";

export const CONVERSATION_STATUSES = ["open", "pending", "snoozed", "resolved", "closed"] as const;
export const CONVERSATION_SOURCES = ["web", "api", "email", "whatsapp", "chat"] as const;
export const PROCESSING_STATUSES = ["processing", "completed", "failed"] as const;
export const SENDER_TYPES = ["agent", "contact", "assistant", "note", "system"] as const;
export const DELIVERY_STATUSES = ["queued", "sent", "delivered", "read", "failed"] as const;

export interface ConversationSummary {
  title: string;
  content: string;
  sentiment: "positive" | "neutral" | "negative" | "mixed";
  topics: string[];
  action_items: string[];
  language: string;
  style: string;
}

export const conversations = pgTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    content: text("content"),
    source: text("source", { enum: CONVERSATION_SOURCES }).notNull().default("api"),
    status: text("status", { enum: CONVERSATION_STATUSES }).notNull().default("open"),
    processingStatus: text("processing_status", { enum: PROCESSING_STATUSES }),
    contactId: text("contact_id").references(() => contacts.id, { onDelete: "set null" }),
    sessionId: text("session_id").references(() => sessions.id, { onDelete: "set null" }),
    channelId: text("channel_id"),
    assigneeId: text("assignee_id").references(() => agents.id, { onDelete: "set null" }),
    assistantId: text("assistant_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    summary: jsonb("summary").$type<ConversationSummary>(),
    /** The summary's sentiment, kept by PostgreSQL (analytics read it from an index). */
    sentiment: text("sentiment").generatedAlwaysAs(sql`summary->>'sentiment'`),
    unreadCount: integer("unread_count").notNull().default(0),
    messageCount: integer("message_count").notNull().default(0),
    lastMessageAt: tstz("last_message_at"),
    firstResponseAt: tstz("first_response_at"),
    resolvedAt: tstz("resolved_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The list's sorts end with id (the tie-breaker), so these serve ORDER BY … LIMIT without
    // a sort step; (workspace, status, created_at, id) also lets the filtered count run as an
    // index-only scan. Inboxes sort by latest activity first, conversations without messages last.
    index("conversations_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    index("conversations_workspace_status_created_idx").on(t.workspaceId, t.status, t.createdAt, t.id),
    index("conversations_workspace_updated_idx").on(t.workspaceId, t.updatedAt, t.id),
    index("conversations_workspace_last_message_idx").on(t.workspaceId, t.lastMessageAt.desc().nullsLast(), t.id.desc()),
    index("conversations_contact_idx").on(t.contactId),
    index("conversations_assignee_idx").on(t.workspaceId, t.assigneeId),
    // Analytics: a period's conversations, and those resolved in it, read from the index alone.
    index("conversations_analytics_created_idx").on(t.workspaceId, t.createdAt, t.status, t.source, t.channelId, t.assigneeId, t.firstResponseAt, t.sentiment, t.id),
    index("conversations_analytics_resolved_idx").on(t.workspaceId, t.resolvedAt, t.createdAt, t.assigneeId, t.channelId).where(sql`${t.resolvedAt} is not null`),
  ],
);

export const messages = pgTable(
  "messages",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    senderType: text("sender_type", { enum: SENDER_TYPES }).notNull(),
    /** The agent or contact who sent it, when known. */
    senderId: text("sender_id"),
    content: text("content").notNull(),
    /** complete | incomplete (a stream cut short) | delivery states for channel messages. */
    status: text("status").notNull().default("complete"),
    source: text("source"),
    externalId: text("external_id"),
    attachmentIds: text("attachment_ids").array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /** null: not delivered anywhere (chat, notes, inbound); else where its email/WhatsApp delivery is. */
    deliveryStatus: text("delivery_status", { enum: DELIVERY_STATUSES }),
    deliveryError: jsonb("delivery_error").$type<{ code: string; message: string }>(),
    createdAt: createdAt(),
  },
  (t) => [
    index("messages_conversation_created_idx").on(t.conversationId, t.createdAt),
    // Analytics: messages of a workspace in a period (counted from the index alone).
    index("messages_workspace_created_idx").on(t.workspaceId, t.createdAt),
    uniqueIndex("messages_workspace_external_key").on(t.workspaceId, t.externalId).where(sql`${t.externalId} is not null`),
    // The deliveries sweep (lib/delivery/sweep.ts): outbound messages still queued.
    index("messages_delivery_queued_idx").on(t.createdAt).where(sql`${t.deliveryStatus} = 'queued'`),
  ],
);
