// Broad queries stay cheap: relevance ranks only the newest matches (a bounded window) and the
// total beyond the cap is an estimate, flagged. The limits are small here (the service's
// parameters) so that a handful of conversations exercises them; the API uses 1,000 each.
import { describe, expect, it } from "vitest";
import { compileQuery, searchConversations } from "../../functions/conversations/search.service";
import { createHarness } from "../support/harness";
import { conv, msg, search, setCreatedAt } from "./helpers";

const h = await createHarness();
const limits = { rankWindow: 3, countCap: 3 };

async function corpus() {
  const t = await h.signUp();
  const made: string[] = [];
  for (let i = 0; i < 6; i++) {
    // The oldest one is the best match: outside the ranked window of 3, it is not ranked.
    const id = await conv(h, t, { title: i === 0 ? "Warranty warranty warranty" : `Note ${i}` });
    await msg(h, t, id, i === 4 ? "warranty warranty claim" : "about the warranty");
    await setCreatedAt(h, id, `2026-05-0${i + 1}T00:00:00Z`);
    made.push(id);
  }
  return { t, made };
}

describe("search: bounded work on broad queries", () => {
  it("ranks the newest matches only, says the total is an estimate, and pages stop at the window", async () => {
    const { t, made } = await corpus();
    const db = h.services.db;
    const q = await compileQuery(db, t.workspaceId, "warranty");
    const p1 = await searchConversations(db, t.workspaceId, q, {}, "relevance", { page: 1, per_page: 2 }, limits);
    expect(p1.totalExact).toBe(false);
    expect(p1.total).toBeGreaterThanOrEqual(4);
    expect(p1.totalPages).toBe(2); // 3 ranked hits, 2 a page
    expect(p1.hits[0]!.id).toBe(made[4]); // the best of the newest three
    const p2 = await searchConversations(db, t.workspaceId, q, {}, "relevance", { page: 2, per_page: 2 }, limits);
    expect([...p1.hits, ...p2.hits].map((x) => x.id).sort()).toEqual([made[3], made[4], made[5]].sort());
    const p3 = await searchConversations(db, t.workspaceId, q, {}, "relevance", { page: 3, per_page: 2 }, limits);
    expect(p3.hits).toEqual([]);
    expect(p3.totalExact).toBe(false);

    // Date sorts page through every match, however many.
    const seen: string[] = [];
    for (let page = 1; page <= 3; page++) {
      const r = await searchConversations(db, t.workspaceId, q, {}, "created_at", { page, per_page: 2 }, limits);
      seen.push(...r.hits.map((x) => x.id));
    }
    expect(seen).toEqual(made);
    // Asked deep enough, the window covers every match and the total is exact again.
    const deep = await searchConversations(db, t.workspaceId, q, {}, "-created_at", { page: 3, per_page: 2 }, limits);
    expect(deep).toMatchObject({ total: 6, totalExact: true, totalPages: 3 });
    expect(deep.hits.map((x) => x.id)).toEqual([made[1], made[0]]);

    // A narrower query under the caps is exact and ranks every match.
    const claim = await compileQuery(db, t.workspaceId, "claim");
    expect(await searchConversations(db, t.workspaceId, claim, {}, "relevance", { page: 1, per_page: 20 }, limits)).toMatchObject({ total: 1, totalExact: true, totalPages: 1 });
  });

  it("the API reports total_exact", async () => {
    const { t } = await corpus();
    const r = await search(h, t, { query: "warranty", per_page: 2 });
    expect(r.meta).toMatchObject({ total: 6, total_exact: true, total_pages: 3 });
    expect((await search(h, t, { query: "nothing-matches-this" })).meta).toMatchObject({ total: 0, total_exact: true, total_pages: 1 });
  });
});
