// The analytics rollups (migration 0024) against the rows they summarise: after a mix of writes
// through the API and straight SQL (creates, status changes, reopen, assignment and channel
// changes, summaries, deletes, tags added, removed and deleted, messages added and deleted, an
// agent deleted, the time zone changed), GET /v1/analytics answers from the rollups exactly what
// the raw computation answers, over Europe/Paris's DST changes, filtered or not; and the rows the
// triggers kept equal the rows a rebuild computes from scratch.
import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { analytics, resolvePeriod, workspaceTimeZone } from "../../functions/insights/analytics.service";
import { rowsOf } from "../../lib/db";
import { newId } from "../../lib/ids";
import type { ConversationSummary } from "../../schema";
import { agents, channels, conversations, conversationTags, messages, tags } from "../../schema";
import { createHarness, type Tenant } from "../support/harness";
import { agentToken } from "../support/tenancy";

const h = await createHarness();
const db = h.services.db;

/** A small deterministic generator, so that a failure can be replayed. */
function rng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const SENTIMENTS = ["positive", "neutral", "negative", "mixed"] as const;
const STATUSES = ["open", "pending", "snoozed", "resolved", "closed"] as const;
const SOURCES = ["web", "api", "email", "whatsapp", "chat"] as const;
const summary = (sentiment: ConversationSummary["sentiment"]): ConversationSummary => ({ title: "t", content: "c", sentiment, topics: [], action_items: [], language: "en", style: "concise" });

async function setZone(t: Tenant, timezone: string) {
  const r = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { timezone } } });
  expect(r.status, r.text).toBe(200);
}

/** Both answers for a period and filter: from the rollups (as the route reads) and from the rows. */
async function both(t: Tenant, q: { from: string; to: string; channel_id?: string; agent_id?: string }) {
  const zones = await workspaceTimeZone(db, t.workspaceId);
  const p = resolvePeriod({ from: q.from, to: q.to }, zones.timezone);
  if (!("period" in p)) throw new Error("bad period");
  expect(zones.rollupZone).toBe(p.period.timezone);
  const f = { channel_id: q.channel_id, agent_id: q.agent_id };
  return { rollup: await analytics(db, t.workspaceId, p.period, f, zones.rollupZone), raw: await analytics(db, t.workspaceId, p.period, f, null) };
}

type Row = Record<string, unknown>;
const sortRows = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();

/** The workspace's rollup rows (zero rows left by subtractions dropped). */
async function rollupRows(ws: string) {
  const daily = rowsOf<Row>(
    await db.execute(sql`select * from analytics_daily where workspace_id = ${ws} and (conversations, messages, resolved) <> (0, 0, 0)`),
  ).map((r) => ({ ...r, day: String(r.day) }));
  const tagged = rowsOf<Row>(await db.execute(sql`select * from analytics_daily_tags where workspace_id = ${ws} and conversations <> 0`)).map((r) => ({ ...r, day: String(r.day) }));
  return { daily: sortRows(daily), tagged: sortRows(tagged) };
}

async function expectRollupsExact(t: Tenant, ids: { agents: string[]; channels: string[] }) {
  const periods = [
    { from: "2026-03-20", to: "2026-04-05" }, // spring forward (29 March)
    { from: "2026-10-20", to: "2026-11-03" }, // fall back (25 October)
    { from: "2026-03-29", to: "2026-03-29" },
    { from: "2026-01-01", to: "2026-12-31" },
  ];
  for (const period of periods) {
    for (const f of [{}, { channel_id: ids.channels[0] }, { agent_id: ids.agents[0] }, { channel_id: ids.channels[1], agent_id: ids.agents[1] }]) {
      const { rollup, raw } = await both(t, { ...period, ...f });
      expect(rollup, JSON.stringify({ period, f })).toEqual(raw);
    }
    if (period.to === "2026-12-31") expect((await both(t, period)).rollup.totals.messages).toBeGreaterThan(0);
  }
  // What the triggers kept equals what a rebuild computes from the rows.
  const kept = await rollupRows(t.workspaceId);
  await db.execute(sql`select parley_analytics_rebuild(${t.workspaceId})`);
  expect(kept).toEqual(await rollupRows(t.workspaceId));
}

describe("analytics rollups", () => {
  it("equal the raw computation after a mix of writes, across Europe/Paris's DST changes", async () => {
    const t = await h.signUp();
    await setZone(t, "Europe/Paris");
    const ws = t.workspaceId;
    const rand = rng(20261025);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const agentIds = [(await agentToken(h, t)).agentId, (await agentToken(h, t)).agentId, (await agentToken(h, t)).agentId];
    const channelIds = [newId("ch"), newId("ch")];
    await db.insert(channels).values(channelIds.map((id, i) => ({ id, workspaceId: ws, type: "email" as const, name: `Inbox ${i}` })));
    const tagIds = Array.from({ length: 4 }, () => newId("tag"));
    await db.insert(tags).values(tagIds.map((id, i) => ({ id, workspaceId: ws, name: `tag-${i}` })));

    // Instants within two days of either DST change (local days of 23 and 25 hours).
    const around = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + Math.floor(rand() * 4 * 86_400_000) - 2 * 86_400_000);
    const when = () => around(pick(["2026-03-29", "2026-10-25"]));
    const convIds: string[] = [];
    const rows = Array.from({ length: 60 }, () => {
      const createdAt = when();
      const status = pick(STATUSES);
      const id = newId("conv");
      convIds.push(id);
      return {
        id,
        workspaceId: ws,
        title: "x",
        createdAt,
        status,
        source: pick(SOURCES),
        channelId: rand() < 0.3 ? null : pick(channelIds),
        assigneeId: rand() < 0.3 ? null : pick(agentIds),
        summary: rand() < 0.4 ? null : summary(pick(SENTIMENTS)),
        firstResponseAt: rand() < 0.3 ? null : new Date(createdAt.getTime() + Math.floor(rand() * 7_200_000)),
        resolvedAt: status === "resolved" || status === "closed" ? new Date(createdAt.getTime() + Math.floor(rand() * 3 * 86_400_000)) : null,
      };
    });
    await db.insert(conversations).values(rows);
    await db.insert(messages).values(
      Array.from({ length: 200 }, () => {
        const c = pick(rows);
        return { id: newId("msg"), workspaceId: ws, conversationId: c.id, senderType: "contact" as const, content: "hi", createdAt: new Date(c.createdAt.getTime() + Math.floor(rand() * 86_400_000)) };
      }),
    );
    await db.insert(conversationTags).values(
      [...new Set(Array.from({ length: 80 }, () => `${pick(convIds)} ${pick(tagIds)}`))].map((k) => {
        const [conversationId, tagId] = k.split(" ");
        return { workspaceId: ws, conversationId: conversationId!, tagId: tagId! };
      }),
    );
    const ids = { agents: agentIds, channels: channelIds };
    await expectRollupsExact(t, ids);

    // Through the API: a conversation created now, messages, status changes and a reopen,
    // assignment, tags added and removed.
    const created = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Now", source: "web" } });
    expect(created.status, created.text).toBe(201);
    const apiConv = created.body.id as string;
    for (const id of [apiConv, convIds[0]!, convIds[1]!]) {
      const m = await h.call("POST", `/v1/conversations/${id}/messages`, { token: t.token, body: { content: "hello", sender_type: "agent" } });
      expect(m.status, m.text).toBe(201);
    }
    for (const [id, status] of [
      [convIds[2]!, "resolved"],
      [convIds[3]!, "closed"],
      [convIds[3]!, "open"],
      [convIds[4]!, "resolved"],
      [convIds[4]!, "pending"],
      [apiConv, "resolved"],
    ] as const) {
      const r = await h.call("POST", `/v1/conversations/${id}/status`, { token: t.token, body: { status } });
      expect(r.status, r.text).toBe(200);
    }
    for (const [id, agent] of [
      [convIds[5]!, agentIds[2]!],
      [convIds[6]!, null],
      [apiConv, agentIds[0]!],
    ] as const) {
      const r = await h.call("POST", `/v1/conversations/${id}/assign`, { token: t.token, body: { agent_id: agent } });
      expect(r.status, r.text).toBe(200);
    }
    for (const id of [convIds[7]!, convIds[8]!, apiConv]) {
      const r = await h.call("POST", `/v1/conversations/${id}/tags`, { token: t.token, body: { tag: "tag-1" } });
      expect([200, 201], r.text).toContain(r.status);
    }
    const untag = rowsOf<{ conversation_id: string; tag_id: string }>(
      await db.execute(sql`select conversation_id, tag_id from conversation_tags where workspace_id = ${ws} order by conversation_id, tag_id limit 3`),
    );
    for (const u of untag) {
      const r = await h.call("DELETE", `/v1/conversations/${u.conversation_id}/tags/${u.tag_id}`, { token: t.token });
      expect(r.status, r.text).toBe(200);
    }
    await expectRollupsExact(t, ids);

    // Straight SQL: channel moves (with their messages and tags), summaries, created_at moved
    // over a DST change, messages and conversations deleted, a tag and an agent deleted.
    await db.update(conversations).set({ channelId: channelIds[1] }).where(inArray(conversations.id, convIds.slice(10, 20)));
    await db.update(conversations).set({ summary: summary("mixed") }).where(inArray(conversations.id, convIds.slice(15, 25)));
    await db.update(conversations).set({ summary: null }).where(inArray(conversations.id, convIds.slice(25, 28)));
    await db.update(conversations).set({ createdAt: new Date("2026-10-25T00:30:00Z") }).where(eq(conversations.id, convIds[30]!));
    await db.update(conversations).set({ status: "resolved", resolvedAt: new Date("2026-03-29T00:59:00Z") }).where(eq(conversations.id, convIds[31]!));
    const someMessages = rowsOf<{ id: string }>(await db.execute(sql`select id from messages where workspace_id = ${ws} order by id limit 25`)).map((m) => m.id);
    await db.delete(messages).where(inArray(messages.id, someMessages));
    await db.delete(conversations).where(inArray(conversations.id, convIds.slice(40, 46)));
    const delTag = await h.call("DELETE", `/v1/tags/${tagIds[2]}`, { token: t.token });
    expect(delTag.status, delTag.text).toBe(200);
    await db.delete(agents).where(and(eq(agents.workspaceId, ws), eq(agents.id, agentIds[1]!)));
    await expectRollupsExact(t, ids);

    // Another zone: the workspace's rollups are rebuilt in it (and still equal).
    await setZone(t, "America/New_York");
    await expectRollupsExact(t, ids);
    await setZone(t, "Asia/Kolkata"); // +05:30: days begin at 18:30 UTC
    await expectRollupsExact(t, ids);
  }, 180_000); // ~160 answers computed both ways: ~10 s alone, several times that on a loaded host

  it("are not used when their zone is not the one reported (a zone the runtime does not know)", async () => {
    const t = await h.signUp();
    await setZone(t, "Europe/Paris");
    const zones = await workspaceTimeZone(db, t.workspaceId);
    expect(zones).toEqual({ timezone: "Europe/Paris", rollupZone: "Europe/Paris" });
    // A zone PostgreSQL does not know is counted in UTC by the rollups; the answer reports UTC.
    await db.execute(sql`update workspaces set settings = jsonb_set(settings, '{timezone}', '"Mars/Olympus"') where id = ${t.workspaceId}`);
    expect((await workspaceTimeZone(db, t.workspaceId)).rollupZone).toBe("UTC");
    const r = await h.call("GET", "/v1/analytics?from=2026-03-28&to=2026-03-30", { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body.period.timezone).toBe("UTC");
  });
});
