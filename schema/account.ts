// API requests per workspace, UTC day and route template, persisted from Redis's live counters
// (lib/usage.ts) by the daily usage job and on read.
import { date, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { updatedAt, workspaceId } from "./columns";
import { workspaces } from "./identity";

export const apiUsageDaily = pgTable(
  "api_usage_daily",
  {
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    /** `METHOD /v1/path/{param}`, or `*` for the day's total. */
    route: text("route").notNull(),
    requests: integer("requests").notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day, t.route] })],
);
