// AI assistants (instructions + knowledge a model may quote), the polling chat's tasks, and
// the LLM token usage per workspace, day and model (read later by the account/usage API).
import { date, index, integer, pgTable, real, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt, workspaceId } from "./columns";
import { sessions } from "./contacts";
import { conversations, messages } from "./conversations";
import { workspaces } from "./identity";

export const assistants = pgTable(
  "assistants",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    instructions: text("instructions").notNull(),
    /** null: the provider's default model (OPENAI_MODEL, or parley-offline). */
    model: text("model"),
    temperature: real("temperature"),
    /** Text the assistant may quote in its replies. */
    knowledge: text("knowledge"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("assistants_workspace_created_idx").on(t.workspaceId, t.createdAt)],
);

export const CHAT_TASK_STATUSES = ["processing", "complete", "error"] as const;

/** One background reply of the polling chat (POST /v1/chat/{session_id}/message). */
export const chatTasks = pgTable(
  "chat_tasks",
  {
    id: text("id").primaryKey(),
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    userMessageId: text("user_message_id").references(() => messages.id, { onDelete: "set null" }),
    /** The assistant's reply once written (complete, or incomplete on error). */
    messageId: text("message_id"),
    status: text("status", { enum: CHAT_TASK_STATUSES }).notNull().default("processing"),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    finishedAt: tstz("finished_at"),
  },
  (t) => [index("chat_tasks_session_idx").on(t.workspaceId, t.sessionId, t.createdAt)],
);

/** Tokens per workspace, UTC day and model; each finished LLM call adds to its row. */
export const llmUsage = pgTable(
  "llm_usage",
  {
    workspaceId: workspaceId().references(() => workspaces.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    model: text("model").notNull(),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    requests: integer("requests").notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("llm_usage_workspace_day_model_key").on(t.workspaceId, t.day, t.model)],
);
