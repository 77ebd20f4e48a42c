// Stored files: uploads, conversation attachments, inbound email attachments and exports. The
// bytes live in storage (R2 on Workers, DATA_DIR locally) under `storage_key`; this is the record.
import { sql } from "drizzle-orm";
import { bigint, index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, tstz, workspaceId } from "./columns";
import { workspaces } from "./identity";

/** What a file is for: storage is reported by kind. */
export const FILE_KINDS = ["upload", "attachment", "inbound", "export"] as const;

export const files = pgTable(
  "files",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: FILE_KINDS }).notNull().default("upload"),
    filename: text("filename").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    mimeType: text("mime_type").notNull(),
    storageKey: text("storage_key").notNull(),
    /** Set when the file is attached to a conversation (and to one of its messages). */
    conversationId: text("conversation_id"),
    messageId: text("message_id"),
    createdBy: text("created_by"),
    createdAt: createdAt(),
    deletedAt: tstz("deleted_at"),
  },
  (t) => [
    index("files_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    index("files_conversation_idx").on(t.conversationId).where(sql`${t.conversationId} is not null`),
  ],
);
