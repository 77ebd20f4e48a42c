// Reminders and templates: 401 without credentials, scopes (a read key reads but cannot write),
// any agent role may use them, and another workspace's templates, reminders, contacts and
// channels are invisible (404 by path, 422 in a body, absent from lists and filters).
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { channels } from "../../schema";
import { createHarness, expectError } from "../support/harness";
import { agentToken, expectInvisible } from "../support/tenancy";
import { contact, inHours, reminder, template } from "./helpers";

const h = await createHarness();

describe("reminders: security", () => {
  it("every route answers 401 without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/v1/reminder-templates"],
      ["POST", "/v1/reminder-templates"],
      ["GET", "/v1/reminder-templates/rtpl_x"],
      ["PATCH", "/v1/reminder-templates/rtpl_x"],
      ["DELETE", "/v1/reminder-templates/rtpl_x"],
      ["GET", "/v1/reminders"],
      ["POST", "/v1/reminders"],
      ["GET", "/v1/reminders/rem_x"],
      ["PATCH", "/v1/reminders/rem_x"],
      ["DELETE", "/v1/reminders/rem_x"],
    ] as const) {
      expectError(await h.call(method, path, { body: method === "POST" || method === "PATCH" ? { name: "x" } : undefined }), 401, "unauthorized");
    }
  });

  it("a read-scoped API key lists and reads but cannot write; an agent (not admin) may do everything", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const rem = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(30) });
    const key = (await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "reader", scopes: ["read"] } })).body.key as string;
    const asKey = { headers: { "x-api-key": key } };
    expect((await h.call("GET", "/v1/reminder-templates", asKey)).status).toBe(200);
    expect((await h.call("GET", `/v1/reminders/${rem.id}`, asKey)).status).toBe(200);
    expectError(await h.call("POST", "/v1/reminder-templates", { ...asKey, body: { name: "x" } }), 403, "forbidden");
    expectError(await h.call("DELETE", `/v1/reminders/${rem.id}`, asKey), 403, "forbidden");
    expectError(await h.call("PATCH", `/v1/reminders/${rem.id}`, { ...asKey, body: { send_at: inHours(40) } }), 403, "forbidden");

    const agent = await agentToken(h, t, "agent");
    const made = await h.call("POST", "/v1/reminder-templates", { token: agent.token, body: { name: "Agent's", channel: "email", subject: "Hi", body: "Hello" } });
    expect(made.status).toBe(201);
    const r = await h.call("POST", "/v1/reminders", { token: agent.token, body: { template_id: made.body.id, contact_id: ct.id, send_at: inHours(3) } });
    expect(r.status).toBe(201);
    expect((await h.call("DELETE", `/v1/reminders/${r.body.id}`, { token: agent.token })).body.status).toBe("canceled");
  });

  it("another workspace's templates and reminders are 404 and absent from lists", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const tpl = await template(h, theirs);
    const ct = await contact(h, theirs);
    const rem = await reminder(h, theirs, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(30) });
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/reminder-templates/${tpl.id}` },
      { method: "PATCH", path: `/v1/reminder-templates/${tpl.id}`, body: { name: "mine" } },
      { method: "DELETE", path: `/v1/reminder-templates/${tpl.id}` },
      { method: "GET", path: `/v1/reminders/${rem.id}` },
      { method: "PATCH", path: `/v1/reminders/${rem.id}`, body: { send_at: inHours(40) } },
      { method: "DELETE", path: `/v1/reminders/${rem.id}` },
      { list: "/v1/reminder-templates?per_page=100", absent: tpl.id },
      { list: "/v1/reminders?per_page=100", absent: rem.id },
      { list: `/v1/reminders?template_id=${tpl.id}`, absent: rem.id },
      { list: `/v1/reminders?contact_id=${ct.id}`, absent: rem.id },
    ]);
    // Their reminder is untouched.
    expect((await h.call("GET", `/v1/reminders/${rem.id}`, { token: theirs.token })).body).toMatchObject({ status: "scheduled" });
  });

  it("another workspace's template, contact or channel in a body is a 422 naming the field", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const myTpl = await template(h, mine);
    const myContact = await contact(h, mine);
    const theirTpl = await template(h, theirs);
    const theirContact = await contact(h, theirs);
    const theirChannel = newId("ch");
    await h.services.db.insert(channels).values({ id: theirChannel, workspaceId: theirs.workspaceId, type: "email", name: "Theirs", config: { address: "x@example.com" } });
    const base = { template_id: myTpl.id, contact_id: myContact.id, event_at: inHours(30), variables: { place: "x" } };
    for (const [patch, field] of [
      [{ template_id: theirTpl.id }, "template_id"],
      [{ contact_id: theirContact.id }, "contact_id"],
      [{ channel_id: theirChannel }, "channel_id"],
    ] as const) {
      const r = await h.call("POST", "/v1/reminders", { token: mine.token, body: { ...base, ...patch } });
      const err = expectError(r, 422, "validation_error");
      expect(Object.keys(err.details.fields)).toEqual([field]);
      expect(r.text).not.toContain(theirContact.email);
    }
  });
});
