// Exports of conversations (csv, json, markdown, pdf), rendered by the exports job in chunks:
// each delivery renders the next conversations after `cursor` into a part in storage and
// re-publishes itself; the last one assembles the parts into a file (files.kind = "export").
import { index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const EXPORT_FORMATS = ["pdf", "csv", "json", "markdown"] as const;
export const EXPORT_STATUSES = ["processing", "completed", "failed"] as const;

export interface ExportFilters {
  date_from?: string;
  date_to?: string;
  status?: string[];
  source?: string[];
  tags?: string[];
  topics?: string[];
  sentiment?: string[];
}

export interface ExportOptions {
  include_messages: boolean;
  include_attachments: boolean;
}

export const exports = pgTable(
  "exports",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    format: text("format", { enum: EXPORT_FORMATS }).notNull(),
    status: text("status", { enum: EXPORT_STATUSES }).notNull().default("processing"),
    progress: integer("progress").notNull().default(0),
    filters: jsonb("filters").$type<ExportFilters>().notNull().default({}),
    options: jsonb("options").$type<ExportOptions>().notNull(),
    /** Conversations matching the filters when the export was requested. */
    total: integer("total").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    /** Parts rendered so far; the job for chunk n runs only when parts = n. */
    parts: integer("parts").notNull().default(0),
    /** The last conversation rendered: (created_at as text, full precision; id). */
    cursor: jsonb("cursor").$type<{ created_at: string; id: string }>(),
    fileId: text("file_id"),
    error: jsonb("error").$type<{ code: string; message: string }>(),
    createdBy: text("created_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: tstz("completed_at"),
  },
  (t) => [index("exports_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id)],
);
export type ExportRow = typeof exports.$inferSelect;
