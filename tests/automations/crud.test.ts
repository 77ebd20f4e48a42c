// /v1/automations: CRUD, toggle, validation at creation (every problem listed), admin only, and
// tenancy (another workspace's automations, agents and templates are invisible).
import { describe, expect, it } from "vitest";
import { Automation, AutomationRun, AutomationWithSecret } from "../../functions/admin/automations.schemas";
import { newId } from "../../lib/ids";
import { listOf } from "../../lib/openapi";
import { reminderTemplates } from "../../schema";
import { automationRuns } from "../../schema/events";
import { createHarness, expectError, type Tenant } from "../support/harness";
import { agentToken, expectInvisible } from "../support/tenancy";

const h = await createHarness();

const RULE = {
  name: "Tag refunds",
  event: "message.created",
  conditions: [
    { field: "message.sender_type", operator: "equals", value: "contact" },
    { field: "message.content", operator: "contains", value: "refund" },
  ],
  actions: [{ type: "add_tag", tag: "refund" }],
};

async function create(t: Pick<Tenant, "token">, body: Record<string, unknown> = RULE) {
  const r = await h.call("POST", "/v1/automations", { token: t.token, body });
  expect(r.status, r.text).toBe(201);
  return AutomationWithSecret.parse(r.body);
}

async function template(workspaceId: string, channel: "email" | "whatsapp" = "email") {
  const id = newId("rtpl");
  await h.services.db.insert(reminderTemplates).values({ id, workspaceId, name: "Welcome", channel, subject: "Hi", body: "Hello {{contact.name}}" });
  return id;
}

describe("automations CRUD", () => {
  it("creates (with a webhook secret shown once), lists, gets, updates, toggles and deletes", async () => {
    const t = await h.signUp();
    const a = await create(t);
    expect(a).toMatchObject({ ...RULE, active: true, run_count: 0, last_run_at: null });
    expect(a.id).toMatch(/^auto_/);
    expect(a.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    const got = await h.call("GET", `/v1/automations/${a.id}`, { token: t.token });
    expect(got.status).toBe(200);
    expect(Automation.strict().parse(got.body)).toMatchObject(RULE);
    expect(got.text).not.toContain(a.webhook_secret.slice(6));

    const second = await create(t, { ...RULE, name: "Second", active: false });
    const list = await h.call("GET", "/v1/automations?per_page=1", { token: t.token });
    expect(list.status).toBe(200);
    listOf(Automation).parse(list.body);
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([second.id]);
    expect(list.body.meta).toEqual({ page: 1, per_page: 1, total: 2, total_pages: 2 });
    expect(list.body.links.next).toContain("page=2");
    expect(list.text).not.toContain("whsec_");

    const patched = await h.call("PATCH", `/v1/automations/${a.id}`, {
      token: t.token,
      body: { name: "Renamed", event: "summary.completed", conditions: [{ field: "summary.sentiment", operator: "in", value: ["negative", "mixed"] }], actions: [{ type: "set_status", status: "pending" }] },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ name: "Renamed", event: "summary.completed", actions: [{ type: "set_status", status: "pending" }], active: true });

    const off = await h.call("POST", `/v1/automations/${a.id}/toggle`, { token: t.token });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    const on = await h.call("POST", `/v1/automations/${a.id}/toggle`, { token: t.token });
    expect(on.body.active).toBe(true);

    const runs = await h.call("GET", `/v1/automations/${a.id}/runs`, { token: t.token });
    expect(runs.status).toBe(200);
    expect(runs.body).toMatchObject({ data: [], meta: { total: 0 } });

    const del = await h.call("DELETE", `/v1/automations/${a.id}`, { token: t.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ deleted: true, id: a.id });
    expectError(await h.call("GET", `/v1/automations/${a.id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/automations/${a.id}`, { token: t.token }), 404, "not_found");
  });

  it("accepts every action type and operator with well-typed values", async () => {
    const t = await h.signUp();
    const tpl = await template(t.workspaceId);
    const a = await create(t, {
      name: "Everything",
      event: "conversation.created",
      conditions: [
        { field: "source", operator: "equals", value: "email" },
        { field: "title", operator: "not_equals", value: "spam" },
        { field: "conversation.title", operator: "contains", value: "urgent" },
        { field: "conversation.tags", operator: "not_contains", value: "ignored" },
        { field: "conversation.source", operator: "in", value: ["email", "whatsapp"] },
        { field: "conversation.status", operator: "not_in", value: ["closed"] },
        { field: "contact.email", operator: "exists" },
        { field: "conversation.metadata.plan", operator: "exists", value: false },
        { field: "conversation.message_count", operator: "gt", value: 0 },
        { field: "conversation.created_at", operator: "lt", value: "2030-01-01T00:00:00Z" },
      ],
      actions: [
        { type: "add_tag", tag: "urgent" },
        { type: "remove_tag", tag: "new" },
        { type: "assign", agent_id: t.agentId },
        { type: "assign", agent_id: null },
        { type: "set_status", status: "pending" },
        { type: "send_message", content: "We are on it." },
        { type: "send_email", template_id: tpl },
        { type: "summarize" },
        { type: "webhook", url: "https://hooks.example.com/parley" },
      ],
    });
    expect(a.conditions).toHaveLength(10);
    expect(a.actions).toHaveLength(9);
  });

  it("422 lists every problem: unknown event, operator, action type, field, wrong value types", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/automations", {
      token: t.token,
      body: {
        name: "",
        event: "conversation.exploded",
        conditions: [
          { field: "message.content", operator: "matches", value: "x" },
          { field: "message.content", operator: "in", value: "refund" },
          { field: "message.content", operator: "gt", value: "soon" },
          { field: "message.content", operator: "exists", value: "yes" },
          { field: "message.content", operator: "equals", value: ["a"] },
          { field: "message.content", operator: "contains" },
        ],
        actions: [{ type: "explode" }, { type: "add_tag" }, { type: "set_status", status: "done" }, { type: "webhook", url: "not a url" }],
      },
    });
    const e = expectError(r, 422, "validation_error");
    const f = e.details.fields;
    expect(Object.keys(f).sort()).toEqual(
      [
        "name",
        "event",
        "conditions.0.operator",
        "conditions.1.value",
        "conditions.2.value",
        "conditions.3.value",
        "conditions.4.value",
        "conditions.5.value",
        "actions.0.type",
        "actions.1.tag",
        "actions.2.status",
      ].sort(),
    );
    expect(f.event[0]).toContain("conversation.created");
    expect(f["actions.0.type"][0]).toContain("add_tag");
  });

  it("422 on fields the event does not have and on actions the event cannot take", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/automations", {
      token: t.token,
      body: {
        name: "Bad fields",
        event: "contact.created",
        conditions: [
          { field: "message.content", operator: "contains", value: "x" },
          { field: "contact.emial", operator: "exists" },
          { field: "contact.email", operator: "exists" },
          { field: "bad path!", operator: "exists" },
        ],
        actions: [{ type: "add_tag", tag: "new-lead" }, { type: "set_status", status: "open" }, { type: "summarize" }],
      },
    });
    const f = expectError(r, 422, "validation_error").details.fields;
    expect(Object.keys(f).sort()).toEqual(["actions.1.type", "actions.2.type", "conditions.0.field", "conditions.1.field", "conditions.3.field"]);
    expect(f["conditions.0.field"][0]).toContain("contact");
    expect(f["conditions.1.field"][0]).toContain("email");
  });

  it("422 on another workspace's agent or template, a WhatsApp template, and a refused webhook target", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const foreignTpl = await template(other.workspaceId);
    const waTpl = await template(t.workspaceId, "whatsapp");
    const strict = await createHarness({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: "false" });
    const st = await strict.signUp();
    const r = await h.call("POST", "/v1/automations", {
      token: t.token,
      body: {
        name: "Foreign",
        event: "conversation.created",
        actions: [
          { type: "assign", agent_id: other.agentId },
          { type: "send_email", template_id: foreignTpl },
          { type: "send_email", template_id: waTpl },
          { type: "assign", agent_id: "agt_doesnotexist" },
        ],
      },
    });
    const f = expectError(r, 422, "validation_error").details.fields;
    expect(f).toEqual({
      "actions.0.agent_id": ["No such agent in your workspace."],
      "actions.1.template_id": ["No such template in your workspace."],
      "actions.2.template_id": ["Must be an email template."],
      "actions.3.agent_id": ["No such agent in your workspace."],
    });
    const ssrf = await strict.call("POST", "/v1/automations", {
      token: st.token,
      body: { name: "SSRF", event: "conversation.created", actions: [{ type: "webhook", url: "http://169.254.169.254/latest" }, { type: "webhook", url: "https://127.0.0.1/x" }] },
    });
    const sf = expectError(ssrf, 422, "validation_error").details.fields;
    expect(Object.keys(sf).sort()).toEqual(["actions.0.url", "actions.1.url"]);

    // PATCH checks the resulting rule: a new event without the old fields is refused.
    const a = await create(t);
    const bad = await h.call("PATCH", `/v1/automations/${a.id}`, { token: t.token, body: { event: "contact.created" } });
    const pf = expectError(bad, 422, "validation_error").details.fields;
    expect(Object.keys(pf).sort()).toEqual(["conditions.0.field", "conditions.1.field"]);
    expect((await h.call("GET", `/v1/automations/${a.id}`, { token: t.token })).body.event).toBe("message.created");
    expectError(await h.call("PATCH", `/v1/automations/${a.id}`, { token: t.token, body: { actions: [] } }), 422, "validation_error");
    expectError(await h.call("PATCH", `/v1/automations/${a.id}`, { token: t.token, body: { actions: [{ type: "assign", agent_id: other.agentId }] } }), 422, "validation_error");
  });

  it("400 on bad query parameters, 400/422 on malformed bodies", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/automations?per_page=500", { token: t.token }), 400, "bad_request");
    const a = await create(t);
    expectError(await h.call("GET", `/v1/automations/${a.id}/runs?status=weird`, { token: t.token }), 400, "bad_request");
    expectError(await h.call("POST", "/v1/automations", { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), 400, "bad_request");
    expectError(await h.call("POST", "/v1/automations", { token: t.token, body: [] }), 422, "validation_error");
    expectError(await h.call("POST", "/v1/automations", { token: t.token, body: { ...RULE, name: "x\u0000y" } }), 422, "validation_error");
    const many = Array.from({ length: 11 }, () => ({ type: "summarize" }));
    expectError(await h.call("POST", "/v1/automations", { token: t.token, body: { ...RULE, actions: many } }), 422, "validation_error");
  });
});

describe("automations security", () => {
  it("needs credentials; agents and read/write keys get 403; an admin agent and an admin key may", async () => {
    const t = await h.signUp();
    const a = await create(t);
    expectError(await h.call("GET", "/v1/automations"), 401, "unauthorized");
    const agent = await agentToken(h, t, "agent");
    for (const [method, path, body] of [
      ["GET", "/v1/automations"],
      ["POST", "/v1/automations", RULE],
      ["GET", `/v1/automations/${a.id}`],
      ["PATCH", `/v1/automations/${a.id}`, { name: "x" }],
      ["POST", `/v1/automations/${a.id}/toggle`],
      ["DELETE", `/v1/automations/${a.id}`],
      ["GET", `/v1/automations/${a.id}/runs`],
    ] as const) {
      expectError(await h.call(method, path, { token: agent.token, body }), 403, "forbidden");
    }
    const admin = await agentToken(h, t, "admin");
    expect((await h.call("GET", `/v1/automations/${a.id}`, { token: admin.token })).status).toBe(200);

    const rw = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "rw", scopes: ["read", "write"] } });
    expect(rw.status, rw.text).toBe(201);
    expectError(await h.call("GET", "/v1/automations", { token: rw.body.key }), 403, "forbidden");
    const adm = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "admin", scopes: ["read", "write", "admin"] } });
    expect((await h.call("GET", "/v1/automations", { token: adm.body.key })).status).toBe(200);
  });

  it("another workspace's automations and runs are 404 everywhere and absent from lists", async () => {
    const owner = await h.signUp();
    const a = await create(owner);
    await h.services.db.insert(automationRuns).values({
      id: newId("arun"),
      workspaceId: owner.workspaceId,
      automationId: a.id,
      eventId: newId("evt"),
      eventType: "message.created",
      status: "skipped",
      reason: "secret-reason",
    });
    const mine = await h.call("GET", `/v1/automations/${a.id}/runs`, { token: owner.token });
    listOf(AutomationRun).parse(mine.body);
    expect(mine.body.data).toHaveLength(1);

    const intruder = await h.signUp();
    await create(intruder, { ...RULE, name: "Intruder's" });
    await expectInvisible(h, intruder, [
      { method: "GET", path: `/v1/automations/${a.id}` },
      { method: "PATCH", path: `/v1/automations/${a.id}`, body: { name: "Mine now" } },
      { method: "POST", path: `/v1/automations/${a.id}/toggle` },
      { method: "GET", path: `/v1/automations/${a.id}/runs` },
      { method: "DELETE", path: `/v1/automations/${a.id}` },
      { list: "/v1/automations", absent: a.id },
    ]);
    const still = await h.call("GET", `/v1/automations/${a.id}`, { token: owner.token });
    expect(still.body).toMatchObject({ name: RULE.name, active: true });
  });
});
