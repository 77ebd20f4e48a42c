// The automations job end to end: events recorded by the API are dispatched to jobs-automations
// (the local QStash delivers them), conditions are evaluated against the event's data, actions go
// through the areas' services (their events one hop deeper), each (automation, event) runs once,
// a failing action fails its run only, and the loop guard stops automations feeding each other.
import { and, asc, eq } from "drizzle-orm";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { AutomationRun } from "../../functions/admin/automations.schemas";
import { MAX_AUTOMATION_DEPTH } from "../../lib/event-dispatch";
import { newId } from "../../lib/ids";
import { listOf } from "../../lib/openapi";
import { newWebhookSecret } from "../../lib/webhooks";
import { agents, conversations, emails, events, messages, reminderTemplates, summaries } from "../../schema";
import { automationRuns, automations } from "../../schema/events";
import { settle, startReceiver } from "../events/helpers";
import { delivery, eventually, toRequest, uid } from "../jobs/helpers";
import { createHarness, type Tenant } from "../support/harness";
import { agentToken } from "../support/tenancy";

const h = await createHarness();
const rcv = await startReceiver();
const keys = h.services.config.qstashSigningKeys!;

async function automation(t: Tenant, body: Record<string, unknown>) {
  const r = await h.call("POST", "/v1/automations", { token: t.token, body: { name: uid("auto"), ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; webhook_secret: string };
}

async function conversation(t: Tenant, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Where is my order?", source: "api", ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string };
}

async function say(t: Tenant, conversationId: string, content: string, sender_type = "contact") {
  const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { content, sender_type } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string };
}

async function runs(t: Tenant, automationId: string) {
  const r = await h.call("GET", `/v1/automations/${automationId}/runs?per_page=100`, { token: t.token });
  expect(r.status, r.text).toBe(200);
  return listOf(AutomationRun).parse(r.body).data;
}

const conv = async (t: Tenant, id: string) => {
  const body = (await h.call("GET", `/v1/conversations/${id}`, { token: t.token })).body;
  return { ...body, tags: (body.tags as Array<{ name: string }>).map((x) => x.name) };
};

const eventsOf = (ws: string, type?: string) =>
  h.services.db
    .select()
    .from(events)
    .where(and(eq(events.workspaceId, ws), type ? eq(events.type, type) : undefined))
    .orderBy(asc(events.createdAt), asc(events.id));

/** Delivers the automations job for one event, as QStash would (a fresh key unless given). */
async function deliverJob(t: Pick<Tenant, "workspaceId">, eventId: string, type: string, o: { key?: string; retried?: number } = {}) {
  const env = { key: o.key ?? uid("automations"), payload: { workspace_id: t.workspaceId, event_id: eventId, event: type } };
  const res = await h.dispatch(toRequest(delivery(h.services.config.publicBaseUrl!, "automations", env, keys.current, { retried: o.retried ?? 0 })));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("automations run on events", () => {
  it("matches conditions against the event's data, tags the conversation, and logs matched and skipped runs", async () => {
    const t = await h.signUp();
    const a = await automation(t, {
      event: "message.created",
      conditions: [
        { field: "message.sender_type", operator: "equals", value: "contact" },
        { field: "message.content", operator: "contains", value: "REFUND" },
      ],
      actions: [{ type: "add_tag", tag: "refund" }],
    });
    const c = await conversation(t);
    await say(t, c.id, "Hello, anyone there?");
    await say(t, c.id, "I would like a refund please");
    await say(t, c.id, "Refund is on its way", "agent");
    await settle(h, t.workspaceId);

    expect((await conv(t, c.id)).tags).toEqual(["refund"]);
    const log = await runs(t, a.id);
    expect(log).toHaveLength(3);
    const byStatus = (s: string) => log.filter((r) => r.status === s);
    expect(byStatus("succeeded")).toHaveLength(1);
    expect(byStatus("skipped")).toHaveLength(2);
    const ok = byStatus("succeeded")[0]!;
    expect(ok).toMatchObject({ event_type: "message.created", depth: 0, error: null, reason: null, results: [{ type: "add_tag", status: "succeeded", detail: `tagged ${c.id} with refund` }] });
    expect(ok.duration_ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(ok.finished_at!)).toBeGreaterThanOrEqual(Date.parse(ok.started_at));
    const reasons = byStatus("skipped").map((r) => r.reason);
    expect(reasons).toContain('condition not met: message.content contains "REFUND" (was "Hello, anyone there?")');
    expect(reasons).toContain('condition not met: message.sender_type equals "contact" (was "agent")');
    expect((await h.call("GET", `/v1/automations/${a.id}/runs?status=skipped`, { token: t.token })).body.meta.total).toBe(2);

    const auto = (await h.call("GET", `/v1/automations/${a.id}`, { token: t.token })).body;
    expect(auto.run_count).toBe(1);
    expect(auto.last_run_at).toBe(ok.started_at);
    // The tagging was recorded like anyone's, by the automation, one hop deeper.
    const [tagged] = await eventsOf(t.workspaceId, "conversation.tagged");
    expect(tagged).toMatchObject({ actor: a.id, depth: 1, data: { tag: "refund", conversation_id: c.id } });
  });

  it("assigns, sets the status and sends an automation message through the services", async () => {
    const t = await h.signUp();
    const agent = await agentToken(h, t, "agent");
    const a = await automation(t, {
      event: "conversation.created",
      conditions: [{ field: "source", operator: "in", value: ["api", "web"] }],
      actions: [
        { type: "assign", agent_id: agent.agentId },
        { type: "set_status", status: "pending" },
        { type: "send_message", content: "Thanks! We will answer within a day." },
      ],
    });
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    const got = await conv(t, c.id);
    expect(got).toMatchObject({ assignee_id: agent.agentId, status: "pending" });
    const msgs = await h.services.db.select().from(messages).where(eq(messages.conversationId, c.id));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ senderType: "agent", senderId: null, content: "Thanks! We will answer within a day.", metadata: { automation_id: a.id } });
    const deeper = (await eventsOf(t.workspaceId)).filter((e) => e.actor === a.id);
    expect(deeper.map((e) => e.type).sort()).toEqual(["conversation.assigned", "conversation.status_changed", "message.created"]);
    expect(deeper.every((e) => e.depth === 1)).toBe(true);
    const [run] = await runs(t, a.id);
    expect(run!.results.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
  });

  it("a failing action fails its run with the error, undoes the run's changes, and other automations still run", async () => {
    const t = await h.signUp();
    const agent = await agentToken(h, t, "agent");
    const failing = await automation(t, {
      event: "conversation.created",
      actions: [
        { type: "add_tag", tag: "first" },
        { type: "assign", agent_id: agent.agentId },
        { type: "set_status", status: "resolved" },
      ],
    });
    const fine = await automation(t, { event: "conversation.created", actions: [{ type: "add_tag", tag: "second" }] });
    // The agent leaves after the automation was made.
    await h.services.db.delete(agents).where(eq(agents.id, agent.agentId));
    const c = await conversation(t);
    await settle(h, t.workspaceId);

    const [bad] = await runs(t, failing.id);
    expect(bad).toMatchObject({ status: "failed" });
    expect(bad!.error).toMatch(/^action 2 \(assign\) failed: .*agent/);
    expect(bad!.results.map((r) => r.status)).toEqual(["succeeded", "failed", "not_run"]);
    expect(bad!.results[1]!.error).toMatch(/agent/);
    const [good] = await runs(t, fine.id);
    expect(good).toMatchObject({ status: "succeeded" });
    // The failed run's tag was undone with it; the other automation's tag stayed.
    expect(await conv(t, c.id)).toMatchObject({ tags: ["second"], status: "open" });
    expect((await h.call("GET", `/v1/automations/${failing.id}`, { token: t.token })).body.run_count).toBe(1);
  });

  it("each (automation, event) runs once, even when the job is delivered again under other keys, concurrently", async () => {
    const t = await h.signUp();
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    const [created] = await eventsOf(t.workspaceId, "conversation.created");
    const a = await automation(t, { event: "conversation.created", actions: [{ type: "send_message", content: "Auto reply" }] });

    const results = await Promise.all([1, 2, 3, 4].map(() => deliverJob(t, created!.id, "conversation.created")));
    for (const r of results) expect(r.status).toBe(200);
    const again = await deliverJob(t, created!.id, "conversation.created");
    expect(again.status).toBe(200);
    expect(await runs(t, a.id)).toHaveLength(1);
    const msgs = await h.services.db.select().from(messages).where(eq(messages.conversationId, c.id));
    expect(msgs).toHaveLength(1);
    expect((await h.call("GET", `/v1/automations/${a.id}`, { token: t.token })).body.run_count).toBe(1);
  });

  it(`the loop guard: automations feeding each other stop after ${MAX_AUTOMATION_DEPTH} hops`, async () => {
    const t = await h.signUp();
    const a = await automation(t, { event: "message.created", actions: [{ type: "send_message", content: "Echo" }] });
    const c = await conversation(t);
    await say(t, c.id, "Ping");
    await settle(h, t.workspaceId);
    const msgs = await h.services.db.select().from(messages).where(eq(messages.conversationId, c.id));
    // The customer's message, then one echo per hop: depths 1, 2 and 3; an event 3 hops deep triggers nothing.
    expect(msgs).toHaveLength(1 + MAX_AUTOMATION_DEPTH);
    const created = await eventsOf(t.workspaceId, "message.created");
    expect(created.map((e) => e.depth)).toEqual([0, 1, 2, 3]);
    const log = await runs(t, a.id);
    expect(log.map((r) => r.depth).sort()).toEqual([0, 1, 2]);

    // Delivered anyway (a stale publish), the deepest event is skipped by the job itself.
    await deliverJob(t, created[3]!.id, "message.created");
    const skipped = (await runs(t, a.id)).find((r) => r.depth === 3);
    expect(skipped).toMatchObject({ status: "skipped" });
    expect(skipped!.reason).toMatch(/^loop guard/);
    expect(await h.services.db.select().from(messages).where(eq(messages.conversationId, c.id))).toHaveLength(1 + MAX_AUTOMATION_DEPTH);
  });

  it("inactive automations and other event types do not run", async () => {
    const t = await h.signUp();
    const off = await automation(t, { event: "conversation.created", active: false, actions: [{ type: "add_tag", tag: "never" }] });
    const other = await automation(t, { event: "contact.created", actions: [{ type: "add_tag", tag: "never" }] });
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    expect(await runs(t, off.id)).toHaveLength(0);
    expect(await runs(t, other.id)).toHaveLength(0);
    expect((await conv(t, c.id)).tags).toEqual([]);
  });

  it("tags the contact on contact.created, and conditions read the contact", async () => {
    const t = await h.signUp();
    await automation(t, {
      event: "contact.created",
      conditions: [{ field: "contact.email", operator: "contains", value: "@bigcorp.example" }],
      actions: [{ type: "add_tag", tag: "enterprise" }],
    });
    const big = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Big", email: "ceo@bigcorp.example" } });
    const small = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Small", email: "me@home.example" } });
    expect(big.status, big.text).toBe(201);
    await settle(h, t.workspaceId);
    const tagsOf = async (id: string) => (await h.call("GET", `/v1/contacts/${id}/tags`, { token: t.token })).body;
    expect(JSON.stringify(await tagsOf(big.body.id))).toContain("enterprise");
    expect(JSON.stringify(await tagsOf(small.body.id))).not.toContain("enterprise");
  });

  it("summarize requests a summary (completed by the summaries job); on an empty conversation the run fails", async () => {
    const t = await h.signUp();
    const a = await automation(t, {
      event: "conversation.status_changed",
      conditions: [{ field: "to", operator: "equals", value: "resolved" }],
      actions: [{ type: "summarize" }],
    });
    const c = await conversation(t);
    await say(t, c.id, "My parcel never arrived. Please send it again.");
    const empty = await conversation(t, { title: "Empty" });
    await h.call("POST", `/v1/conversations/${c.id}/status`, { token: t.token, body: { status: "resolved" } });
    await h.call("POST", `/v1/conversations/${empty.id}/status`, { token: t.token, body: { status: "resolved" } });
    await settle(h, t.workspaceId);
    const sums = await h.services.db.select().from(summaries).where(eq(summaries.conversationId, c.id));
    expect(sums).toHaveLength(1);
    await eventually(async () => (await h.services.db.select().from(summaries).where(eq(summaries.id, sums[0]!.id)))[0]?.status === "completed");
    const log = await runs(t, a.id);
    expect(log.map((r) => r.status).sort()).toEqual(["failed", "succeeded"]);
    expect(log.find((r) => r.status === "failed")!.error).toContain("nothing to summarise");
    expect(await h.services.db.select().from(summaries).where(eq(summaries.conversationId, empty.id))).toHaveLength(0);
  });

  it("summary.completed conditions read the summary's sentiment", async () => {
    const t = await h.signUp();
    await automation(t, {
      event: "summary.completed",
      conditions: [{ field: "summary.sentiment", operator: "in", value: ["negative", "mixed"] }],
      actions: [{ type: "add_tag", tag: "unhappy" }],
    });
    const c = await conversation(t, { content: "This is terrible. The product is broken and awful, I am very angry and disappointed." });
    await settle(h, t.workspaceId);
    await eventually(async () => (await h.services.db.select().from(conversations).where(eq(conversations.id, c.id)))[0]?.processingStatus === "completed");
    await settle(h, t.workspaceId);
    const got = await conv(t, c.id);
    expect(got.summary.sentiment).toBe("negative");
    expect(got.tags).toEqual(["unhappy"]);
  });

  it("send_email queues the template, rendered for the event's contact, and it is sent; a contact without email fails the run", async () => {
    const t = await h.signUp();
    const address = `${uid("support")}@mg.acme.example`;
    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "Support", config: { address, from_name: "Acme Support" } } });
    expect(ch.status, ch.text).toBe(201);
    const tpl = newId("rtpl");
    await h.services.db.insert(reminderTemplates).values({ id: tpl, workspaceId: t.workspaceId, name: "Welcome", channel: "email", subject: "Welcome, {{contact.name}}", body: "Hello {{contact.name}}, thanks for writing." });
    const withVars = newId("rtpl");
    await h.services.db.insert(reminderTemplates).values({ id: withVars, workspaceId: t.workspaceId, name: "Order", channel: "email", subject: "Order {{variables.order}}", body: "x" });
    const refused = await h.call("POST", "/v1/automations", { token: t.token, body: { name: "vars", event: "contact.created", actions: [{ type: "send_email", template_id: withVars }] } });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.body.error.details.fields["actions.0.template_id"][0]).toContain("{{variables.order}}");

    const a = await automation(t, { event: "contact.created", actions: [{ type: "send_email", template_id: tpl }] });
    const ada = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Ada", email: "ada@customer.example" } });
    const phoneOnly = await h.call("POST", "/v1/contacts", { token: t.token, body: { name: "Bob", phone: "+14155550100" } });
    expect(ada.status, ada.text).toBe(201);
    expect(phoneOnly.status, phoneOnly.text).toBe(201);
    await settle(h, t.workspaceId);
    const sent = await eventually(async () => {
      const [e] = await h.services.db.select().from(emails).where(eq(emails.workspaceId, t.workspaceId));
      return e?.status === "sent" ? e : undefined;
    });
    expect(sent).toMatchObject({ to: ["ada@customer.example"], subject: "Welcome, Ada", text: "Hello Ada, thanks for writing.", contactId: ada.body.id, templateId: tpl, channelId: ch.body.id });
    const log = await runs(t, a.id);
    expect(log.map((r) => r.status).sort()).toEqual(["failed", "succeeded"]);
    expect(log.find((r) => r.status === "succeeded")!.results[0]!.detail).toBe(`queued ${sent.id} to ada@customer.example`);
    expect(log.find((r) => r.status === "failed")!.error).toContain("has no email address");
    expect(await h.services.db.select().from(emails).where(eq(emails.workspaceId, t.workspaceId))).toHaveLength(1);
  });
});

describe("webhook action", () => {
  const verify = (secret: string, got: { body: string; headers: Record<string, unknown> }) =>
    new StandardWebhook(secret).verify(got.body, {
      "webhook-id": String(got.headers["webhook-id"]),
      "webhook-timestamp": String(got.headers["webhook-timestamp"]),
      "webhook-signature": String(got.headers["webhook-signature"]),
    }) as { type: string; data: Record<string, any> };

  it("POSTs the event once, signed with the automation's secret (Standard Webhooks)", async () => {
    const t = await h.signUp();
    const path = `/auto-${uid("w")}`;
    const a = await automation(t, { event: "conversation.created", actions: [{ type: "webhook", url: `${rcv.url}${path}` }] });
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    const got = rcv.on(path);
    expect(got).toHaveLength(1);
    const msg = verify(a.webhook_secret, got[0]!);
    expect(msg.type).toBe("conversation.created");
    expect(msg.data).toMatchObject({ automation_id: a.id, conversation: { id: c.id, title: "Where is my order?" } });
    expect(String(got[0]!.headers["webhook-id"])).toMatch(/^awh_/);
    const [run] = await runs(t, a.id);
    expect(run!.results[0]!.detail).toContain("→ 200");
  });

  it("a failing target is retried with the job (same webhook-id), other automations' changes kept once, then the run fails", async () => {
    const t = await h.signUp();
    const path = `/auto-${uid("w")}`;
    rcv.plan(path, 500, 500, 500, 500);
    const c = await conversation(t);
    await settle(h, t.workspaceId);
    const [created] = await eventsOf(t.workspaceId, "conversation.created");
    const tagger = await automation(t, { event: "conversation.created", actions: [{ type: "add_tag", tag: "seen" }] });
    const hook = await automation(t, { event: "conversation.created", actions: [{ type: "webhook", url: `${rcv.url}${path}` }] });
    const key = uid("automations");
    for (let retried = 0; retried < 3; retried++) {
      const r = await deliverJob(t, created!.id, "conversation.created", { key, retried });
      expect(r.status).toBe(503);
      expect(await runs(t, hook.id)).toHaveLength(0);
      expect(await runs(t, tagger.id)).toHaveLength(0);
    }
    const last = await deliverJob(t, created!.id, "conversation.created", { key, retried: 3 });
    expect(last.status).toBe(200);
    const got = rcv.on(path);
    expect(got).toHaveLength(4);
    expect(new Set(got.map((g) => g.headers["webhook-id"])).size).toBe(1);
    const [failed] = await runs(t, hook.id);
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed!.error).toContain("HTTP 500");
    expect(failed!.error).toContain("attempt 4 of 4");
    expect(await runs(t, tagger.id)).toHaveLength(1);
    expect((await conv(t, c.id)).tags).toEqual(["seen"]);
  });

  it("the SSRF guard is applied again when the request is made", async () => {
    const strict = await createHarness({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: "false" });
    const t = await strict.signUp();
    const c = await strict.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", source: "api" } });
    expect(c.status).toBe(201);
    // Stored directly: the API refuses such a URL at creation.
    const id = newId("auto");
    await strict.services.db.insert(automations).values({
      id,
      workspaceId: t.workspaceId,
      name: "Sneaky",
      event: "conversation.created",
      actions: [{ type: "webhook", url: "https://127.0.0.1/admin" }],
      webhookSecret: newWebhookSecret(),
    });
    const [e] = await strict.services.db.select().from(events).where(and(eq(events.workspaceId, t.workspaceId), eq(events.type, "conversation.created")));
    const env = { key: uid("automations"), payload: { workspace_id: t.workspaceId, event_id: e!.id, event: "conversation.created" } };
    const res = await strict.dispatch(toRequest(delivery(strict.services.config.publicBaseUrl!, "automations", env, strict.services.config.qstashSigningKeys!.current, { retried: 3 })));
    expect(res.status).toBe(200);
    const [run] = await strict.services.db.select().from(automationRuns).where(eq(automationRuns.automationId, id));
    expect(run).toMatchObject({ status: "failed" });
    expect(run!.error).toContain("target refused");
  });
});

describe("automations tenancy", () => {
  it("an automation never runs for another workspace's events, even when the job names them", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const auto = await automation(a, { event: "conversation.created", actions: [{ type: "add_tag", tag: "mine" }] });
    const theirs = await conversation(b);
    await settle(h, b.workspaceId);
    expect(await runs(a, auto.id)).toHaveLength(0);
    const [theirEvent] = await eventsOf(b.workspaceId, "conversation.created");
    // A forged job naming workspace A with B's event finds no such event in A.
    const r = await deliverJob(a, theirEvent!.id, "conversation.created");
    expect(r.status).toBe(200);
    expect(await runs(a, auto.id)).toHaveLength(0);
    expect((await conv(b, theirs.id)).tags).toEqual([]);
  });
});
