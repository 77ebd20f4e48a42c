// Contacts (the people a workspace talks to) and sessions (a visitor's interaction history,
// linked to a contact once the visitor is identified).
import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const contacts = pgTable(
  "contacts",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name"),
    email: text("email"),
    phone: text("phone"),
    attributes: jsonb("attributes").$type<Record<string, unknown>>().notNull().default({}),
    lastSeenAt: tstz("last_seen_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("contacts_workspace_email_key").on(t.workspaceId, sql`lower(${t.email})`).where(sql`${t.email} is not null`),
    uniqueIndex("contacts_workspace_phone_key").on(t.workspaceId, t.phone).where(sql`${t.phone} is not null`),
    // The visitor id a chat found or created the contact by (polling chat, OpenAI `user`): one contact per id.
    uniqueIndex("contacts_workspace_identifier_key")
      .on(t.workspaceId, sql`(${t.attributes} ->> 'identifier')`)
      .where(sql`${t.attributes} ? 'identifier'`),
    index("contacts_workspace_created_idx").on(t.workspaceId, t.createdAt),
  ],
);

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    contactId: text("contact_id").references(() => contacts.id, { onDelete: "set null" }),
    source: text("source").notNull().default("web"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    lastActivityAt: tstz("last_activity_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("sessions_workspace_created_idx").on(t.workspaceId, t.createdAt), index("sessions_contact_idx").on(t.contactId)],
);
