// AI summaries of conversations: one row per request (on create with content, or
// POST /v1/conversations/{id}/summaries), its status moving processing → completed | failed.
// The latest completed result is also copied onto conversations.summary (what the inbox and the
// search index read); this table is the history, failed attempts and their errors included.
import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, tstz, workspaceId } from "./columns";
import { type ConversationSummary, conversations } from "./conversations";
import { workspaces } from "./identity";

export const SUMMARY_STATUSES = ["processing", "completed", "failed"] as const;
export const SUMMARY_STYLES = ["concise", "detailed", "bullets"] as const;

export interface SummaryUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  estimated: boolean;
}

export const summaries = pgTable(
  "summaries",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    status: text("status", { enum: SUMMARY_STATUSES }).notNull().default("processing"),
    /** The language asked for (null: the conversation's own language). */
    language: text("language"),
    style: text("style", { enum: SUMMARY_STYLES }).notNull().default("concise"),
    result: jsonb("result").$type<ConversationSummary>(),
    error: text("error"),
    model: text("model"),
    usage: jsonb("usage").$type<SummaryUsage>(),
    createdAt: createdAt(),
    completedAt: tstz("completed_at"),
  },
  (t) => [index("summaries_conversation_created_idx").on(t.workspaceId, t.conversationId, t.createdAt, t.id)],
);

export type SummaryRow = typeof summaries.$inferSelect;
