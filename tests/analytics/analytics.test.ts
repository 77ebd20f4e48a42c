// GET /v1/analytics with known data: exact totals, per-day series in the workspace's time zone
// (a DST change and midnight on both sides of UTC's), breakdowns, response and resolution time
// percentiles, sentiment, the previous period, filters, parameter errors and tenancy.
import { describe, expect, it } from "vitest";
import { Analytics } from "../../functions/insights/analytics";
import { newId } from "../../lib/ids";
import type { ConversationSummary } from "../../schema";
import { channels, conversations, conversationTags, messages, tags } from "../../schema";
import { createHarness, expectError, type Tenant } from "../support/harness";
import { agentToken } from "../support/tenancy";

const h = await createHarness();
const db = h.services.db;

const at = (iso: string) => new Date(iso);
const summary = (sentiment: ConversationSummary["sentiment"]): ConversationSummary => ({ title: "t", content: "c", sentiment, topics: [], action_items: [], language: "en", style: "concise" });

/**
 * The same conversations in any workspace. Europe/Paris moves from UTC+1 to UTC+2 on
 * 2026-03-29 at 02:00, so its 29 March is 23 hours long: 2026-03-28T23:00Z → 2026-03-29T22:00Z.
 */
async function seed(t: Tenant) {
  const agent1 = (await agentToken(h, t)).agentId;
  const agent2 = (await agentToken(h, t)).agentId;
  const ch = newId("ch");
  await db.insert(channels).values({ id: ch, workspaceId: t.workspaceId, type: "email", name: "Support inbox" });
  const billing = newId("tag");
  const refund = newId("tag");
  await db.insert(tags).values([
    { id: billing, workspaceId: t.workspaceId, name: "billing" },
    { id: refund, workspaceId: t.workspaceId, name: "refund" },
  ]);
  const ws = t.workspaceId;
  type Conv = typeof conversations.$inferInsert;
  const conv = (c: Omit<Conv, "id" | "workspaceId" | "title">): Conv => ({ id: newId("conv"), workspaceId: ws, title: "x", ...c });
  const c1 = conv({ createdAt: at("2026-03-27T23:30:00Z"), source: "email", channelId: ch, assigneeId: agent1, status: "resolved", resolvedAt: at("2026-03-28T01:30:00Z"), firstResponseAt: at("2026-03-27T23:31:00Z"), summary: summary("negative") });
  const c2 = conv({ createdAt: at("2026-03-28T22:30:00Z"), source: "web", status: "open", firstResponseAt: at("2026-03-28T22:32:00Z"), summary: summary("positive") });
  const c3 = conv({ createdAt: at("2026-03-28T23:15:00Z"), source: "api", channelId: ch, assigneeId: agent1, status: "pending", firstResponseAt: at("2026-03-28T23:20:00Z") });
  const c4 = conv({ createdAt: at("2026-03-29T21:59:00Z"), source: "whatsapp", assigneeId: agent2, status: "closed", resolvedAt: at("2026-03-29T22:30:00Z"), firstResponseAt: at("2026-03-29T22:09:00Z") });
  const c5 = conv({ createdAt: at("2026-03-30T22:00:00Z"), source: "api", status: "open" });
  const c6 = conv({ createdAt: at("2026-03-26T10:00:00Z"), source: "chat", assigneeId: agent2, status: "resolved", resolvedAt: at("2026-03-28T10:00:00Z") });
  const c7 = conv({ createdAt: at("2026-03-25T10:00:00Z"), source: "chat", status: "open" });
  await db.insert(conversations).values([c1, c2, c3, c4, c5, c6, c7]);
  await db.insert(conversationTags).values([
    { workspaceId: ws, conversationId: c1.id!, tagId: billing },
    { workspaceId: ws, conversationId: c2.id!, tagId: billing },
    { workspaceId: ws, conversationId: c2.id!, tagId: refund },
    { workspaceId: ws, conversationId: c4.id!, tagId: refund },
  ]);
  const msg = (c: Conv, iso: string) => ({ id: newId("msg"), workspaceId: ws, conversationId: c.id!, senderType: "contact" as const, content: "hi", createdAt: at(iso) });
  await db
    .insert(messages)
    .values([
      msg(c1, "2026-03-27T23:40:00Z"),
      msg(c1, "2026-03-28T00:00:00Z"),
      msg(c2, "2026-03-28T22:59:00Z"),
      msg(c3, "2026-03-28T23:20:00Z"),
      msg(c4, "2026-03-29T22:05:00Z"),
      msg(c5, "2026-03-30T22:10:00Z"),
      msg(c7, "2026-03-26T09:00:00Z"),
      msg(c6, "2026-03-27T22:30:00Z"),
    ]);
  return { agent1, agent2, ch };
}

async function paris() {
  const t = await h.signUp();
  const r = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { timezone: "Europe/Paris" } } });
  expect(r.status, r.text).toBe(200);
  return t;
}

const get = async (t: Pick<Tenant, "token">, query: string) => {
  const r = await h.call("GET", `/v1/analytics?${query}`, { token: t.token });
  expect(r.status, r.text).toBe(200);
  return Analytics.parse(r.body);
};

describe("GET /v1/analytics", () => {
  it("gives exact figures for known data, days in the workspace's time zone across a DST change", async () => {
    const t = await paris();
    const { agent1, agent2, ch } = await seed(t);
    const a = await get(t, "from=2026-03-28&to=2026-03-30");
    expect(a.period).toEqual({ from: "2026-03-28", to: "2026-03-30", days: 3, timezone: "Europe/Paris" });
    expect(a.totals).toEqual({ conversations: 4, messages: 5, resolved: 3, open: 2 });
    expect(a.series).toEqual([
      { date: "2026-03-28", conversations: 2, messages: 3, resolved: 2 },
      { date: "2026-03-29", conversations: 2, messages: 1, resolved: 0 },
      { date: "2026-03-30", conversations: 0, messages: 1, resolved: 1 },
    ]);
    expect(a.by_source).toEqual({ web: 1, api: 1, email: 1, whatsapp: 1, chat: 0 });
    expect(a.by_status).toEqual({ open: 1, pending: 1, snoozed: 0, resolved: 1, closed: 1 });
    expect(a.by_channel).toEqual([
      { channel_id: ch, name: "Support inbox", type: "email", conversations: 2 },
      { channel_id: null, name: null, type: null, conversations: 2 },
    ]);
    expect(a.by_tag).toEqual([
      { tag: "billing", conversations: 2 },
      { tag: "refund", conversations: 2 },
    ]);
    expect(a.by_agent).toEqual([
      { agent_id: agent1, name: "Test agent", conversations: 2, resolved: 1 },
      { agent_id: agent2, name: "Test agent", conversations: 1, resolved: 2 },
      { agent_id: null, name: null, conversations: 1, resolved: 0 },
    ]);
    // First responses 60, 120, 300, 600 s: median (120+300)/2, p90 300 + 0.7 × 300.
    expect(a.first_response_time).toEqual({ median_seconds: 210, p90_seconds: 510, conversations: 4 });
    // Resolutions 1860 s, 2 h, 2 days: median 7200, p90 7200 + 0.8 × (172800 − 7200).
    expect(a.resolution_time).toEqual({ median_seconds: 7200, p90_seconds: 139680, conversations: 3 });
    expect(a.sentiment).toEqual({ positive: 1, neutral: 0, negative: 1, mixed: 0, none: 2 });
    expect(a.previous_period).toEqual({ from: "2026-03-25", to: "2026-03-27", conversations: 2, messages: 2, resolved: 0, open: 1 });
  });

  it("counts days in UTC when the workspace has no time zone", async () => {
    const t = await h.signUp();
    await seed(t);
    const a = await get(t, "from=2026-03-28&to=2026-03-30");
    expect(a.period.timezone).toBe("UTC");
    expect(a.series.map((d) => [d.date, d.conversations, d.messages, d.resolved])).toEqual([
      ["2026-03-28", 2, 3, 2],
      ["2026-03-29", 1, 1, 1],
      ["2026-03-30", 1, 1, 0],
    ]);
    expect(a.totals).toEqual({ conversations: 4, messages: 5, resolved: 3, open: 3 });
    expect(a.previous_period).toMatchObject({ conversations: 3, messages: 3, resolved: 0, open: 1 });
  });

  it("narrows everything to a channel or an agent", async () => {
    const t = await paris();
    const { agent2, ch } = await seed(t);
    const byChannel = await get(t, `from=2026-03-28&to=2026-03-30&channel_id=${ch}`);
    expect(byChannel.totals).toEqual({ conversations: 2, messages: 3, resolved: 1, open: 1 });
    expect(byChannel.by_source).toMatchObject({ email: 1, api: 1, web: 0 });
    expect(byChannel.first_response_time).toEqual({ median_seconds: 180, p90_seconds: 276, conversations: 2 });
    const byAgent = await get(t, `from=2026-03-28&to=2026-03-30&agent_id=${agent2}`);
    expect(byAgent.totals).toEqual({ conversations: 1, messages: 1, resolved: 2, open: 0 });
    expect(byAgent.series.map((d) => d.resolved)).toEqual([1, 0, 1]);
    expect(byAgent.previous_period).toMatchObject({ conversations: 1, messages: 1, resolved: 0, open: 0 });
  });

  it("defaults to the last 30 days ending today, with days or to", async () => {
    const t = await h.signUp();
    const c = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Today", source: "api" } });
    expect(c.status).toBe(201);
    const today = new Date().toISOString().slice(0, 10);
    const a = await get(t, "");
    expect(a.period).toMatchObject({ to: today, days: 30, timezone: "UTC" });
    expect(a.series).toHaveLength(30);
    expect(a.series.at(-1)).toEqual({ date: today, conversations: 1, messages: 0, resolved: 0 });
    expect(a.totals).toEqual({ conversations: 1, messages: 0, resolved: 0, open: 1 });
    const week = await get(t, "days=7&to=2026-03-30");
    expect(week.period).toEqual({ from: "2026-03-24", to: "2026-03-30", days: 7, timezone: "UTC" });
    expect(week.previous_period).toMatchObject({ from: "2026-03-17", to: "2026-03-23" });
    expect(week.totals.conversations).toBe(0);
    expect(week.first_response_time).toEqual({ median_seconds: null, p90_seconds: null, conversations: 0 });
  });

  it("answers 400 naming the parameter for bad periods and parameters", async () => {
    const t = await h.signUp();
    for (const [query, field] of [
      ["days=0", "days"],
      ["days=367", "days"],
      ["days=abc", "days"],
      ["days=1.5", "days"],
      ["from=2026-02-30", "from"],
      ["from=yesterday", "from"],
      ["to=2026-13-01", "to"],
      ["from=2026-03-10&to=2026-03-01", "from"],
      ["from=2025-01-01&to=2026-03-01", "from"],
      ["days=7&from=2026-03-01", "days"],
      ["channel_id=", "channel_id"],
      ["agent_id=a%00b", "agent_id"],
    ] as const) {
      const e = expectError(await h.call("GET", `/v1/analytics?${query}`, { token: t.token }), 400, "bad_request");
      expect(Object.keys(e.details.fields), query).toContain(field);
    }
  });

  it("any agent and a read key may read it; no credentials is 401", async () => {
    const t = await h.signUp();
    const agent = await agentToken(h, t, "agent");
    expect((await h.call("GET", "/v1/analytics", { token: agent.token })).status).toBe(200);
    const key = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "ro", scopes: ["read"] } });
    expect(key.status, key.text).toBe(201);
    expect((await h.call("GET", "/v1/analytics", { token: key.body.key })).status).toBe(200);
    expectError(await h.call("GET", "/v1/analytics"), 401, "unauthorized");
  });

  it("never counts another workspace's data, even when filtered by its channel or agent", async () => {
    const owner = await paris();
    const { agent1, ch } = await seed(owner);
    const other = await paris();
    const empty = { conversations: 0, messages: 0, resolved: 0, open: 0 };
    for (const q of ["from=2026-03-28&to=2026-03-30", `from=2026-03-28&to=2026-03-30&channel_id=${ch}`, `from=2026-03-28&to=2026-03-30&agent_id=${agent1}`]) {
      const a = await get(other, q);
      expect(a.totals, q).toEqual(empty);
      expect(a.by_channel, q).toEqual([]);
      expect(a.by_tag, q).toEqual([]);
      expect(a.by_agent, q).toEqual([]);
      expect(a.previous_period, q).toMatchObject(empty);
      expect(JSON.stringify(a)).not.toContain(ch);
    }
    // The owner still sees all of it.
    expect((await get(owner, "from=2026-03-28&to=2026-03-30")).totals.conversations).toBe(4);
  });
});
