// Channels (a workspace's email addresses and WhatsApp numbers, plus web/api sources), the
// emails Parley sends through Mailgun, and the provider events each email went through.
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const CHANNEL_TYPES = ["web", "api", "email", "whatsapp"] as const;
export const CHANNEL_STATUSES = ["active", "error"] as const;

export const channels = pgTable(
  "channels",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    type: text("type", { enum: CHANNEL_TYPES }).notNull(),
    name: text("name").notNull(),
    /** The type's public configuration (address, from_name, phone_number_id, …). */
    config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
    /** Write-only configuration (API keys, tokens, app secrets): never in any response. */
    secrets: jsonb("secrets").$type<Record<string, string>>().notNull().default({}),
    /**
     * What routes inbound traffic here, unique across Parley: the email channel's address
     * (lower case) or the WhatsApp channel's phone_number_id. Null for web and api.
     */
    inboundKey: text("inbound_key"),
    status: text("status", { enum: CHANNEL_STATUSES }).notNull().default("active"),
    statusReason: text("status_reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("channels_type_inbound_key").on(t.type, t.inboundKey).where(sql`${t.inboundKey} is not null`),
    index("channels_workspace_created_idx").on(t.workspaceId, t.createdAt),
  ],
);

export const EMAIL_STATUSES = ["queued", "sent", "delivered", "opened", "clicked", "failed", "complained", "unsubscribed"] as const;
export const EMAIL_EVENT_TYPES = ["accepted", "delivered", "opened", "clicked", "failed", "complained", "unsubscribed"] as const;

export const emails = pgTable(
  "emails",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    channelId: text("channel_id"),
    contactId: text("contact_id"),
    conversationId: text("conversation_id"),
    /** The conversation message this email carries (agent replies), when there is one. */
    messageId: text("message_id"),
    /** The reminder that produced it, when one did. */
    reminderId: text("reminder_id"),
    fromAddress: text("from_address").notNull(),
    to: text("to").array().notNull(),
    cc: text("cc").array().notNull().default(sql`'{}'::text[]`),
    bcc: text("bcc").array().notNull().default(sql`'{}'::text[]`),
    subject: text("subject").notNull(),
    text: text("text"),
    html: text("html"),
    templateId: text("template_id"),
    variables: jsonb("variables").$type<Record<string, unknown>>().notNull().default({}),
    /** Extra MIME headers sent (In-Reply-To, References). */
    headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
    attachmentIds: text("attachment_ids").array().notNull().default(sql`'{}'::text[]`),
    status: text("status", { enum: EMAIL_STATUSES }).notNull().default("queued"),
    /** Mailgun's Message-Id, once accepted. */
    providerMessageId: text("provider_message_id"),
    error: jsonb("error").$type<{ code: string; message: string }>(),
    attempts: integer("attempts").notNull().default(0),
    sentAt: tstz("sent_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("emails_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    index("emails_provider_message_idx").on(t.providerMessageId),
    index("emails_contact_idx").on(t.workspaceId, t.contactId),
    // The deliveries sweep: emails still queued.
    index("emails_queued_idx").on(t.createdAt).where(sql`${t.status} = 'queued'`),
    index("emails_message_idx").on(t.workspaceId, t.messageId).where(sql`${t.messageId} is not null`),
  ],
);

export const emailEvents = pgTable(
  "email_events",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    emailId: text("email_id")
      .notNull()
      .references(() => emails.id, { onDelete: "cascade" }),
    type: text("type", { enum: EMAIL_EVENT_TYPES }).notNull(),
    occurredAt: tstz("occurred_at").notNull(),
    /** Mailgun's event id: a redelivered event is recorded once. */
    providerEventId: text("provider_event_id"),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index("email_events_email_idx").on(t.emailId, t.occurredAt),
    uniqueIndex("email_events_provider_key").on(t.providerEventId).where(sql`${t.providerEventId} is not null`),
  ],
);
