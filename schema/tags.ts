// Workspace tags and the three entity-tag join tables. Deleting a tag removes it everywhere
// through the foreign keys.
import { sql } from "drizzle-orm";
import { index, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, updatedAt, workspaceId } from "./columns";
import { contacts, sessions } from "./contacts";
import { conversations } from "./conversations";
import { workspaces } from "./identity";

export const tags = pgTable(
  "tags",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    color: text("color"),
    description: text("description"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("tags_workspace_name_key").on(t.workspaceId, sql`lower(${t.name})`)],
);

const tagRef = () =>
  text("tag_id")
    .notNull()
    .references(() => tags.id, { onDelete: "cascade" });

export const contactTags = pgTable(
  "contact_tags",
  {
    workspaceId: workspaceId(),
    contactId: text("contact_id")
      .notNull()
      .references(() => contacts.id, { onDelete: "cascade" }),
    tagId: tagRef(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.contactId, t.tagId] }), index("contact_tags_tag_idx").on(t.tagId)],
);

export const sessionTags = pgTable(
  "session_tags",
  {
    workspaceId: workspaceId(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    tagId: tagRef(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.tagId] }), index("session_tags_tag_idx").on(t.tagId)],
);

export const conversationTags = pgTable(
  "conversation_tags",
  {
    workspaceId: workspaceId(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    tagId: tagRef(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.tagId] }),
    index("conversation_tags_tag_idx").on(t.tagId, t.conversationId),
    // Analytics: a workspace's conversation tags without reading every workspace's.
    index("conversation_tags_workspace_idx").on(t.workspaceId, t.conversationId, t.tagId),
  ],
);
