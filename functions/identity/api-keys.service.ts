// SQL of API keys. The key itself is shown once at creation; only its SHA-256 is stored,
// with a short prefix so people can recognise a key in the list.
import { credentialCache } from "../../lib/credential-cache";
import { and, asc, count, desc, eq } from "drizzle-orm";
import type { Scope } from "../../lib/auth";
import type { Db } from "../../lib/db";
import { notFound } from "../../lib/errors";
import { newId, randomToken, sha256Hex } from "../../lib/ids";
import { offsetOf, type Page, type SortSpec } from "../../lib/pagination";
import { apiKeys } from "../../schema";

export const KEY_PREFIX_LENGTH = 12;
export const API_KEY_SORTS = ["created_at", "name"] as const;

type ApiKeyRow = typeof apiKeys.$inferSelect;

export const apiKeyJson = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes as Scope[],
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
  expires_at: k.expiresAt ? k.expiresAt.toISOString() : null,
  revoked_at: k.revokedAt ? k.revokedAt.toISOString() : null,
});

export async function listApiKeys(db: Db, workspaceId: string, page: Page, sort: SortSpec<(typeof API_KEY_SORTS)[number]>) {
  const where = eq(apiKeys.workspaceId, workspaceId);
  const column = sort.field === "name" ? apiKeys.name : apiKeys.createdAt;
  const dir = sort.direction === "desc" ? desc : asc;
  const [rows, [total]] = await Promise.all([
    db.select().from(apiKeys).where(where).orderBy(dir(column), dir(apiKeys.id)).limit(page.per_page).offset(offsetOf(page)),
    db.select({ n: count() }).from(apiKeys).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function createApiKey(
  db: Db,
  input: { workspaceId: string; name: string; scopes: Scope[]; expiresAt: Date | null; createdBy: string | null },
) {
  const key = `pk_live_${randomToken(24)}`;
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: newId("key"),
      workspaceId: input.workspaceId,
      name: input.name,
      prefix: key.slice(0, KEY_PREFIX_LENGTH),
      keyHash: await sha256Hex(key),
      scopes: input.scopes,
      createdBy: input.createdBy,
      expiresAt: input.expiresAt,
    })
    .returning();
  return { row: row!, key };
}

/** Revokes a key of this workspace; revoking an already revoked key changes nothing. */
export async function revokeApiKey(db: Db, workspaceId: string, id: string): Promise<void> {
  const [row] = await db.select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt }).from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId))).limit(1);
  if (!row) throw notFound("API key");
  if (!row.revokedAt) await db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId)));
  credentialCache.forgetApiKey(id);
}
