// Reminder templates (what a reminder says, on which channel, how long before/after the event)
// and reminders (one message to one contact at `send_at`, sent exactly once).
import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { channels } from "./channels";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { contacts } from "./contacts";
import { workspaces } from "./identity";

export const REMINDER_CHANNELS = ["email", "whatsapp"] as const;
export const REMINDER_STATUSES = ["scheduled", "sending", "sent", "failed", "canceled"] as const;

export const reminderTemplates = pgTable(
  "reminder_templates",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    channel: text("channel", { enum: REMINDER_CHANNELS }).notNull(),
    subject: text("subject"),
    body: text("body").notNull(),
    /** send_at = event_at + offset_minutes (negative: before the event). */
    offsetMinutes: integer("offset_minutes").notNull().default(0),
    active: boolean("active").notNull().default(true),
    /** A WhatsApp message template (approved by Meta) sent instead of free text. */
    whatsappTemplate: jsonb("whatsapp_template").$type<{ name: string; language: string }>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("reminder_templates_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id)],
);

export const reminders = pgTable(
  "reminders",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    templateId: text("template_id")
      .notNull()
      .references(() => reminderTemplates.id, { onDelete: "cascade" }),
    // Deleting a contact deletes their reminders (what was already sent stays as emails/messages).
    contactId: text("contact_id")
      .notNull()
      .references(() => contacts.id, { onDelete: "cascade" }),
    channelId: text("channel_id").references(() => channels.id, { onDelete: "set null" }),
    eventAt: tstz("event_at"),
    sendAt: tstz("send_at").notNull(),
    variables: jsonb("variables").$type<Record<string, string>>().notNull().default({}),
    status: text("status", { enum: REMINDER_STATUSES }).notNull().default("scheduled"),
    /** The pending QStash delayed message (canceled on reschedule and cancel). */
    qstashMessageId: text("qstash_message_id"),
    /** What was sent: the email, or the WhatsApp message (and its conversation). */
    emailId: text("email_id"),
    messageId: text("message_id"),
    conversationId: text("conversation_id"),
    /** Who sent it: "job" (the delayed message) or "sweep" (the cron safety net). */
    sentBy: text("sent_by"),
    error: jsonb("error").$type<{ code: string; message: string }>(),
    sentAt: tstz("sent_at"),
    canceledAt: tstz("canceled_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("reminders_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    index("reminders_template_idx").on(t.templateId),
    index("reminders_contact_idx").on(t.contactId),
    // The sweep's scan: only scheduled rows, by due time.
    index("reminders_due_idx").on(t.sendAt).where(sql`${t.status} = 'scheduled'`),
  ],
);

export type ReminderTemplateRow = typeof reminderTemplates.$inferSelect;
export type ReminderRow = typeof reminders.$inferSelect;
