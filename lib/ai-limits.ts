// What a workspace may spend on the model: which models an assistant may name (an allow-list,
// so nobody points Parley's provider account at its most expensive model), how many tokens one
// reply may ask for, and a daily token budget per plan counted from the llm_usage ledger.
import { and, eq, sql } from "drizzle-orm";
import { llmUsage } from "../schema/assistants";
import { workspaces } from "../schema/identity";
import type { Db } from "./db";
import { ApiError } from "./errors";
import type { Llm } from "./llm";
import { planLimits } from "./plans";

/** Largest `max_tokens` a request may ask for, and the cap of every reply that names none. */
export const MAX_COMPLETION_TOKENS = 4096;

/** Models an assistant may name unless OPENAI_ALLOWED_MODELS says otherwise (the default model always may). */
export const DEFAULT_ALLOWED_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4.1"] as const;

/** OPENAI_ALLOWED_MODELS (comma-separated) or the default list. */
export function allowedModelsFromEnv(value: string | undefined): string[] {
  const listed = (value ?? "")
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  return listed.length ? listed : [...DEFAULT_ALLOWED_MODELS];
}

export function allowedModels(llm: Pick<Llm, "defaultModel" | "allowedModels">): string[] {
  const list = llm.allowedModels ?? DEFAULT_ALLOWED_MODELS;
  return list.includes(llm.defaultModel) ? [...list] : [llm.defaultModel, ...list];
}

/** 422 naming `model` when it is not on the allow-list (null = the default model, always fine). */
export function assertModelAllowed(llm: Pick<Llm, "defaultModel" | "allowedModels">, model: string | null | undefined): void {
  if (model == null) return;
  const allowed = allowedModels(llm);
  if (!allowed.includes(model)) {
    throw new ApiError("validation_error", "This model is not available on this server.", {
      details: { fields: { model: [`Must be one of: ${allowed.join(", ")} (or null for the default).`] }, allowed_models: allowed },
    });
  }
}

/** The model a reply runs on: the assistant's if still allowed, else the server's default. */
export function modelFor(llm: Pick<Llm, "provider" | "defaultModel" | "allowedModels">, requested: string | null | undefined): string {
  if (llm.provider === "offline" || !requested) return llm.defaultModel;
  return allowedModels(llm).includes(requested) ? requested : llm.defaultModel;
}

const utcDay = (now = Date.now()) => new Date(now).toISOString().slice(0, 10);

/** Tokens (prompt + completion) the workspace has spent today (UTC) and its plan's daily budget. */
export async function aiTokensToday(db: Db, workspaceId: string): Promise<{ used: number; limit: number }> {
  const [[row], [ws]] = await Promise.all([
    db
      .select({ used: sql<string>`coalesce(sum(${llmUsage.promptTokens} + ${llmUsage.completionTokens}), 0)::bigint` })
      .from(llmUsage)
      .where(and(eq(llmUsage.workspaceId, workspaceId), eq(llmUsage.day, utcDay()))),
    db.select({ plan: workspaces.plan }).from(workspaces).where(eq(workspaces.id, workspaceId)).limit(1),
  ]);
  return { used: Number(row?.used ?? 0), limit: planLimits(ws?.plan).aiTokensPerDay };
}

/** 429 `rate_limit_exceeded` (`details.reason: "ai_token_budget"`) once today's tokens reach the plan's budget. */
export async function assertAiBudget(db: Db, workspaceId: string): Promise<void> {
  const { used, limit } = await aiTokensToday(db, workspaceId);
  if (used < limit) return;
  const reset = Math.floor(Date.now() / 86_400_000 + 1) * 86_400;
  throw new ApiError("rate_limit_exceeded", `The workspace's daily AI budget of ${limit} tokens is spent; it resets at midnight UTC.`, {
    details: { reason: "ai_token_budget", limit, used, resets_at: new Date(reset * 1000).toISOString() },
    headers: { "Retry-After": String(Math.max(1, reset - Math.floor(Date.now() / 1000))) },
  });
}
