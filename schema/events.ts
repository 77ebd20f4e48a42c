// The domain event log: every change later features react to (automations, outbound
// webhooks, analytics) is written here in the same transaction as the change itself.
import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    /** e.g. conversation.created, message.created, tag.added */
    type: text("type").notNull(),
    entityType: text("entity_type").notNull(),
    entityId: text("entity_id").notNull(),
    /** Who caused it: agt_…, key_…, or "system". */
    actor: text("actor").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index("events_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id), index("events_workspace_type_idx").on(t.workspaceId, t.type)],
);
