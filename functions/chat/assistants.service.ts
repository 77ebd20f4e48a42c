// SQL of assistants: instructions and knowledge a model answers with, per workspace.
import { and, asc, count, desc, eq } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { assistants } from "../../schema";

export type AssistantRow = typeof assistants.$inferSelect;
export const ASSISTANT_SORTS = ["created_at", "name"] as const;

export const assistantJson = (a: AssistantRow) => ({
  id: a.id,
  name: a.name,
  instructions: a.instructions,
  model: a.model,
  temperature: a.temperature,
  knowledge: a.knowledge,
  created_at: a.createdAt.toISOString(),
  updated_at: a.updatedAt.toISOString(),
});

export interface AssistantInput {
  name?: string;
  instructions?: string;
  model?: string | null;
  temperature?: number | null;
  knowledge?: string | null;
}

export async function findAssistant(db: Db, workspaceId: string, id: string): Promise<AssistantRow> {
  const [row] = await db
    .select()
    .from(assistants)
    .where(and(eq(assistants.workspaceId, workspaceId), eq(assistants.id, id)))
    .limit(1);
  if (!row) throw notFound("assistant");
  return row;
}

export async function listAssistants(db: Db, workspaceId: string, page: Page, sort: SortSpec<(typeof ASSISTANT_SORTS)[number]>) {
  const where = eq(assistants.workspaceId, workspaceId);
  const dir = sort.direction === "desc" ? desc : asc;
  const column = sort.field === "name" ? assistants.name : assistants.createdAt;
  const [rows, [total]] = await Promise.all([
    db.select().from(assistants).where(where).orderBy(dir(column), dir(assistants.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: count() }).from(assistants).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function createAssistant(db: Db, workspaceId: string, input: Required<Pick<AssistantInput, "name" | "instructions">> & AssistantInput) {
  const [row] = await db
    .insert(assistants)
    .values({
      id: newId("ast"),
      workspaceId,
      name: input.name,
      instructions: input.instructions,
      model: input.model ?? null,
      temperature: input.temperature ?? null,
      knowledge: input.knowledge ?? null,
    })
    .returning();
  return row!;
}

export async function updateAssistant(db: Db, workspaceId: string, id: string, patch: AssistantInput) {
  const set: Partial<typeof assistants.$inferInsert> = { updatedAt: new Date() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.instructions !== undefined) set.instructions = patch.instructions;
  if (patch.model !== undefined) set.model = patch.model;
  if (patch.temperature !== undefined) set.temperature = patch.temperature;
  if (patch.knowledge !== undefined) set.knowledge = patch.knowledge;
  const [row] = await db
    .update(assistants)
    .set(set)
    .where(and(eq(assistants.workspaceId, workspaceId), eq(assistants.id, id)))
    .returning();
  if (!row) throw notFound("assistant");
  return row;
}

/** Deletes the assistant; its conversations keep their `assistant_id` as a record of who answered. */
export async function deleteAssistant(db: Db, workspaceId: string, id: string) {
  const gone = await db
    .delete(assistants)
    .where(and(eq(assistants.workspaceId, workspaceId), eq(assistants.id, id)))
    .returning({ id: assistants.id });
  if (!gone.length) throw notFound("assistant");
}
