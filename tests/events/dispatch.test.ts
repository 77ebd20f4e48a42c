// The events dispatcher: each committed event is fanned out exactly once — right after the
// request, or by the sweep when QStash was down at commit time — and never twice when both run.
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { automationsJobKey, fanOut, webhookJobKey } from "../../lib/event-dispatch";
import { DependencyError } from "../../lib/errors";
import { createDispatch } from "../../lib/local/dispatch";
import type { Queue } from "../../lib/queue";
import type { ServiceProvider } from "../../lib/services";
import { events } from "../../schema";
import { delivery, runsOf, toRequest, uid } from "../jobs/helpers";
import { BASE, createHarness, type Tenant } from "../support/harness";
import { eventually, settle, startReceiver } from "./helpers";

const h = await createHarness();
const rcv = await startReceiver();
const keys = h.services.config.qstashSigningKeys!;
let n = 0;

async function endpoint(t: Tenant, events: string[]) {
  const path = `/d${++n}`;
  const r = await h.call("POST", "/v1/webhooks", { token: t.token, body: { url: `${rcv.url}${path}`, events } });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.id as string, path };
}

// The same API, but QStash refuses every publish (down at commit time).
const down = (q: Queue): Queue => ({
  ...q,
  publish: () => Promise.reject(new DependencyError("qstash publish: connect ECONNREFUSED")),
  publishBatch: () => Promise.reject(new DependencyError("qstash batch: connect ECONNREFUSED")),
});
const downProvider: ServiceProvider = (ctx) => {
  const s = h.services.provider(ctx);
  return { ...s, queue: down(s.queue) };
};
const downDispatch = createDispatch(downProvider, { RATE_LIMIT_PER_MINUTE: "100000" });

const eventsOf = (ws: string, type: string) =>
  h.services.db
    .select()
    .from(events)
    .where(and(eq(events.workspaceId, ws), eq(events.type, type)));

async function runSweep() {
  const res = await h.dispatch(toRequest(delivery(h.services.config.publicBaseUrl!, "events", { key: uid("sweep"), payload: { sweep: true } }, keys.current)));
  expect(res.status, await res.clone().text()).toBe(200);
}

describe("events dispatcher", () => {
  it("marks events nobody listens to dispatched without publishing anything", async () => {
    const t = await h.signUp();
    const before = h.services.qstash!.pending().length;
    await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Quiet", source: "api" } });
    await settle(h, t.workspaceId);
    const [e] = await eventsOf(t.workspaceId, "conversation.created");
    expect(e!.dispatchedAt).toBeInstanceOf(Date);
    expect(h.services.qstash!.pending().length).toBe(before);
  });

  it("QStash down at commit: the request succeeds, the event waits, the sweep delivers it once", async () => {
    const t = await h.signUp();
    const w = await endpoint(t, ["conversation.created"]);
    const res = await downDispatch(
      new Request(`${BASE}/v1/conversations`, { method: "POST", headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" }, body: JSON.stringify({ title: "While down", source: "api" }) }),
    );
    expect(res.status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    const [e] = await eventsOf(t.workspaceId, "conversation.created");
    expect(e!.dispatchedAt).toBeNull();
    expect(rcv.on(w.path)).toHaveLength(0);

    // The sweep leaves events younger than its grace period to the after-commit path.
    await runSweep();
    expect((await eventsOf(t.workspaceId, "conversation.created"))[0]!.dispatchedAt).toBeNull();
    await h.services.db.update(events).set({ createdAt: sql`${events.createdAt} - interval '1 minute'` }).where(eq(events.id, e!.id));
    await runSweep();
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(1);
    expect(JSON.parse(rcv.on(w.path)[0]!.body)).toMatchObject({ type: "conversation.created", data: { event_id: e!.id } });

    // The after-commit path arriving late, or a second sweep over a lost mark, changes nothing.
    await h.services.db.update(events).set({ dispatchedAt: null }).where(eq(events.id, e!.id));
    const again = await fanOut(h.services.db, h.services.queue, { ids: [e!.id] });
    expect(again.published).toBe(1);
    await runSweep();
    await settle(h, t.workspaceId);
    expect(rcv.on(w.path)).toHaveLength(1);
    expect(await runsOf(h.services.db, "webhooks", webhookJobKey(w.id, e!.id))).toHaveLength(1);
  });

  it("fans one event out to every matching active endpoint, once each", async () => {
    const t = await h.signUp();
    const [a, b, off, other] = [
      await endpoint(t, ["conversation.created"]),
      await endpoint(t, ["conversation.created", "message.created"]),
      await endpoint(t, ["conversation.created"]),
      await endpoint(t, ["contact.created"]),
    ];
    await h.call("PATCH", `/v1/webhooks/${off.id}`, { token: t.token, body: { active: false } });
    await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Fan", source: "api" } });
    await settle(h, t.workspaceId);
    expect([a, b, off, other].map((w) => rcv.on(w.path).length)).toEqual([1, 1, 0, 0]);
  });

  it("dispatches events written outside recordEvent (captured messages) and the new conversation.tagged", async () => {
    const t = await h.signUp();
    const w = await endpoint(t, ["message.created", "conversation.tagged"]);
    const conv = (await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Capture", source: "api" } })).body;
    const cap = await h.call("POST", "/v1/messages/capture", {
      token: t.token,
      body: { messages: [{ conversation_id: conv.id, source: "api", sender_type: "contact", content: "first", external_id: uid("x") }, { conversation_id: conv.id, source: "api", sender_type: "agent", content: "second", external_id: uid("x") }] },
    });
    expect(cap.status, cap.text).toBe(200);
    const tagged = await h.call("POST", `/v1/conversations/${conv.id}/tags`, { token: t.token, body: { tag: "vip" } });
    expect(tagged.status, tagged.text).toBeLessThan(300);
    await settle(h, t.workspaceId);
    const bodies = rcv.on(w.path).map((r) => JSON.parse(r.body));
    expect(bodies.filter((b) => b.type === "message.created").map((b) => b.data.message.content).sort()).toEqual(["first", "second"]);
    expect(bodies.filter((b) => b.type === "conversation.tagged")).toMatchObject([{ data: { tag: "vip", conversation: { id: conv.id, tags: ["vip"] } } }]);
  });

  it("records summary.completed when a summary job completes", async () => {
    const t = await h.signUp();
    const w = await endpoint(t, ["summary.completed"]);
    const conv = (await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Angry customer", content: "This is terrible, I want a refund now. Awful service.", source: "api" } })).body;
    await settle(h, t.workspaceId);
    await eventually(async () => (await eventsOf(t.workspaceId, "summary.completed")).length === 1);
    await settle(h, t.workspaceId);
    const [got] = rcv.on(w.path).map((r) => JSON.parse(r.body));
    expect(got).toMatchObject({ type: "summary.completed", data: { conversation_id: conv.id, summary: { sentiment: expect.any(String) } } });
    expect(automationsJobKey("evt_x")).toBe("automations:evt_x");
  });
});
