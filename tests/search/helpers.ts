// Helpers of the search tests: conversations and messages go through the API; summaries and
// creation times (written by jobs and by time itself) are set straight in the database.
import { eq } from "drizzle-orm";
import type { SearchHit } from "../../functions/conversations/search.service";
import { expect } from "vitest";
import type { ConversationSummary } from "../../schema";
import { conversations } from "../../schema";
import { type Harness, type Tenant, unique } from "../support/harness";

export async function conv(h: Harness, t: Tenant, body: { title?: string; content?: string; source?: string } = {}): Promise<string> {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: body.title ?? unique("untitled"), ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

export async function msg(h: Harness, t: Tenant, conversationId: string, content: string, senderType = "contact"): Promise<string> {
  const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { content, sender_type: senderType } });
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

export async function setSummary(h: Harness, id: string, s: Partial<ConversationSummary>): Promise<void> {
  const summary: ConversationSummary = { title: "", content: "", sentiment: "neutral", topics: [], action_items: [], language: "en", style: "concise", ...s };
  await h.services.db.update(conversations).set({ summary }).where(eq(conversations.id, id));
}

export async function setCreatedAt(h: Harness, id: string, at: string): Promise<void> {
  await h.services.db.update(conversations).set({ createdAt: new Date(at) }).where(eq(conversations.id, id));
}

export type Hit = SearchHit;

export async function search(h: Harness, t: Tenant, body: Record<string, unknown>) {
  const r = await h.call("POST", "/v1/conversations/search", { token: t.token, body });
  expect(r.status, r.text).toBe(200);
  return r.body as { data: Hit[]; meta: { page: number; per_page: number; total: number; total_pages: number; took_ms: number } };
}

/** The ids found for `query` (and more of the body), in order. */
export async function ids(h: Harness, t: Tenant, query: string, more: Record<string, unknown> = {}): Promise<string[]> {
  return (await search(h, t, { query, per_page: 100, ...more })).data.map((d) => d.id);
}
