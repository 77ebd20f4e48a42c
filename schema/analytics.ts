// Analytics rollups: a workspace's conversation figures per day of its time zone, kept by
// triggers on every write (migration 0024), so that GET /v1/analytics sums a few hundred rows
// instead of reading every conversation and message of the period.
import { date, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { workspaceId } from "./columns";
import { workspaces } from "./identity";

/**
 * The time zone the workspace's rollup days are counted in (its `settings.timezone` when the
 * database knows that zone, else UTC). The rollups are rebuilt when the setting changes; a
 * reader uses them only when this zone is the one it reports in.
 */
export const analyticsZones = pgTable("analytics_zones", {
  workspaceId: text("workspace_id")
    .primaryKey()
    .references(() => workspaces.id, { onDelete: "cascade" }),
  timezone: text("timezone").notNull(),
});

/** `''` stands for "no channel" and "unassigned" (a primary key column cannot be null). */
const keyText = (name: string) => text(name).notNull().default("");
const count = (name: string) => integer(name).notNull().default(0);

/**
 * Per workspace, local day, channel and assignee (the conversation's, now): conversations
 * created that day by their status now, source and summary sentiment; messages written that day;
 * conversations resolved that day (resolved_at, not reopened since).
 */
export const analyticsDaily = pgTable(
  "analytics_daily",
  {
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    channelId: keyText("channel_id"),
    assigneeId: keyText("assignee_id"),
    conversations: count("conversations"),
    statusOpen: count("status_open"),
    statusPending: count("status_pending"),
    statusSnoozed: count("status_snoozed"),
    statusResolved: count("status_resolved"),
    statusClosed: count("status_closed"),
    sourceWeb: count("source_web"),
    sourceApi: count("source_api"),
    sourceEmail: count("source_email"),
    sourceWhatsapp: count("source_whatsapp"),
    sourceChat: count("source_chat"),
    sentimentPositive: count("sentiment_positive"),
    sentimentNeutral: count("sentiment_neutral"),
    sentimentNegative: count("sentiment_negative"),
    sentimentMixed: count("sentiment_mixed"),
    sentimentNone: count("sentiment_none"),
    messages: count("messages"),
    resolved: count("resolved"),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day, t.channelId, t.assigneeId] })],
);

/** Per workspace, local day of creation, channel, assignee and tag: conversations carrying the tag. */
export const analyticsDailyTags = pgTable(
  "analytics_daily_tags",
  {
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    channelId: keyText("channel_id"),
    assigneeId: keyText("assignee_id"),
    tagId: text("tag_id").notNull(),
    conversations: count("conversations"),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day, t.channelId, t.assigneeId, t.tagId] })],
);
