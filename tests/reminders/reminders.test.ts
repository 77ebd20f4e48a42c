// /v1/reminders: scheduling (send_at, or event_at + the template's offset), the 422s (template,
// contact, channel, address, variables, times), listing with filters, reschedule and cancel.
import { describe, expect, it } from "vitest";
import { Reminder } from "../../functions/email/reminders.schemas";
import { createHarness, expectError } from "../support/harness";
import { contact, HOUR, inHours, pendingFor, reminder, template } from "./helpers";

const h = await createHarness();

describe("scheduling reminders", () => {
  it("schedules at event_at + offset_minutes and publishes a delayed message for that time", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t, { offset_minutes: -60 });
    const ct = await contact(h, t);
    const eventAt = inHours(48);
    const r = await h.call("POST", "/v1/reminders", { token: t.token, body: { template_id: tpl.id, contact_id: ct.id, event_at: eventAt, variables: { place: "Paris", n: 3, ok: true } } });
    expect(r.status).toBe(201);
    expect(Reminder.parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ template_id: tpl.id, contact_id: ct.id, channel: "email", status: "scheduled", event_at: new Date(eventAt).toISOString(), variables: { place: "Paris", n: "3", ok: "true" } });
    expect(r.body.id).toMatch(/^rem_/);
    expect(new Date(r.body.send_at).getTime()).toBe(Math.ceil((new Date(eventAt).getTime() - HOUR) / 1000) * 1000);
    const m = pendingFor(h, r.body.id);
    expect(m?.notBefore).toBe(new Date(r.body.send_at).getTime());
    expect(JSON.parse(Buffer.from(m!.body, "base64").toString()).payload).toEqual({ workspace_id: t.workspaceId, reminder_id: r.body.id, send_at: r.body.send_at });

    const got = await h.call("GET", `/v1/reminders/${r.body.id}`, { token: t.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
  });

  it("schedules at an explicit send_at; a send_at just past, or an event_at + offset already past, is due at once", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t, { offset_minutes: -1440, subject: "Hello", body: "Hi {{contact.name}}" });
    const ct = await contact(h, t);
    const at = inHours(5);
    const a = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, send_at: at });
    expect(a.send_at).toBe(new Date(Math.ceil(new Date(at).getTime() / 1000) * 1000).toISOString());
    const before = Date.now();
    const b = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, send_at: new Date(Date.now() - 60_000).toISOString() });
    expect(new Date(b.send_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    // The event is in 2 hours, the template says a day before: that is now.
    const c = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(2) });
    expect(Math.abs(new Date(c.send_at).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("lists with filters status, contact_id, template_id, and sorts by send_at", async () => {
    const t = await h.signUp();
    const tpl1 = await template(h, t);
    const tpl2 = await template(h, t, { name: "Other" });
    const c1 = await contact(h, t);
    const c2 = await contact(h, t);
    const r1 = await reminder(h, t, { template_id: tpl1.id, contact_id: c1.id, event_at: inHours(30) });
    const r2 = await reminder(h, t, { template_id: tpl2.id, contact_id: c2.id, event_at: inHours(10) });
    const r3 = await reminder(h, t, { template_id: tpl1.id, contact_id: c2.id, event_at: inHours(20) });
    await h.call("DELETE", `/v1/reminders/${r3.id}`, { token: t.token });
    const ids = async (q: string) => {
      const r = await h.call("GET", `/v1/reminders${q}`, { token: t.token });
      expect(r.status, r.text).toBe(200);
      return r.body.data.map((x: { id: string }) => x.id);
    };
    expect(await ids("")).toEqual([r3.id, r2.id, r1.id]);
    expect(await ids("?sort=send_at")).toEqual([r2.id, r3.id, r1.id]);
    expect(await ids("?status=scheduled&sort=send_at")).toEqual([r2.id, r1.id]);
    expect(await ids("?status=canceled")).toEqual([r3.id]);
    expect(await ids(`?contact_id=${c2.id}&sort=send_at`)).toEqual([r2.id, r3.id]);
    expect(await ids(`?template_id=${tpl1.id}&sort=-send_at`)).toEqual([r1.id, r3.id]);
    const page = await h.call("GET", "/v1/reminders?per_page=2", { token: t.token });
    expect(page.body.meta).toEqual({ page: 1, per_page: 2, total: 3, total_pages: 2 });
    expect(page.body.links.next).toContain("page=2");
    expectError(await h.call("GET", "/v1/reminders?status=bogus", { token: t.token }), 400, "bad_request");
  });
});

describe("422s on create", () => {
  it("refuses a missing or inactive template, a missing contact, a contact without address, a channel of the wrong type", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const fieldsOf = async (body: Record<string, unknown>) => expectError(await h.call("POST", "/v1/reminders", { token: t.token, body: { variables: { place: "x" }, ...body } }), 422, "validation_error").details.fields;

    expect(await fieldsOf({ template_id: "rtpl_nope", contact_id: ct.id, event_at: inHours(3) })).toHaveProperty("template_id");
    expect(await fieldsOf({ template_id: tpl.id, contact_id: "ct_nope", event_at: inHours(3) })).toHaveProperty("contact_id");
    expect(await fieldsOf({ template_id: tpl.id, contact_id: ct.id, event_at: inHours(3), channel_id: "ch_nope" })).toHaveProperty("channel_id");
    await h.call("PATCH", `/v1/reminder-templates/${tpl.id}`, { token: t.token, body: { active: false } });
    expect((await fieldsOf({ template_id: tpl.id, contact_id: ct.id, event_at: inHours(3) })).template_id.join()).toMatch(/inactive/);
    await h.call("PATCH", `/v1/reminder-templates/${tpl.id}`, { token: t.token, body: { active: true } });

    const phoneOnly = await contact(h, t, { email: undefined, phone: "+14155550123" });
    expect((await fieldsOf({ template_id: tpl.id, contact_id: phoneOnly.id, event_at: inHours(3) })).contact_id.join()).toMatch(/no email/);
    const wa = await template(h, t, { channel: "whatsapp", subject: null, body: "Hi {{contact.name}}" });
    const emailOnly = await contact(h, t);
    expect((await fieldsOf({ template_id: wa.id, contact_id: emailOnly.id, event_at: inHours(3) })).contact_id.join()).toMatch(/no phone/);
  });

  it("refuses missing variables, event_at for an {{event_at}} template, bad times and bad bodies", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const post = (body: Record<string, unknown>) => h.call("POST", "/v1/reminders", { token: t.token, body: { template_id: tpl.id, contact_id: ct.id, ...body } });
    const fields = async (body: Record<string, unknown>) => expectError(await post(body), 422, "validation_error").details.fields;
    expect(await fields({ event_at: inHours(3) })).toHaveProperty(["variables.place"]);
    expect(await fields({ send_at: inHours(3), variables: { place: "x" } })).toHaveProperty("event_at");
    expect(await fields({ variables: { place: "x" } })).toHaveProperty("send_at");
    expect(await fields({ send_at: inHours(3), event_at: inHours(4), variables: { place: "x" } })).toHaveProperty("send_at");
    expect(await fields({ event_at: inHours(-1), variables: { place: "x" } })).toHaveProperty("event_at");
    expect(await fields({ event_at: "tomorrow", variables: { place: "x" } })).toHaveProperty("event_at");
    const plain = await template(h, t, { subject: "Hi", body: "Hello" });
    const old = expectError(await h.call("POST", "/v1/reminders", { token: t.token, body: { template_id: plain.id, contact_id: ct.id, send_at: inHours(-1) } }), 422, "validation_error");
    expect(old.details.fields).toHaveProperty("send_at");
    expect(await fields({ event_at: inHours(3), variables: { "bad key": "x" } })).toBeTruthy();
    expect(await fields({ event_at: inHours(3), variables: { place: { nested: true } } })).toBeTruthy();
    expect(await fields({ event_at: inHours(3), variables: { place: "a\u0000b" } })).toBeTruthy();
    expect(await fields({ template_id: 42, event_at: inHours(3) })).toHaveProperty("template_id");
    expectError(await h.call("POST", "/v1/reminders", { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });
});

describe("reschedule and cancel", () => {
  it("PATCH moves send_at, cancels the old delayed message and publishes one for the new time", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t, { offset_minutes: -60 });
    const ct = await contact(h, t);
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(48) });
    const old = pendingFor(h, r.id)!;
    const newEvent = inHours(72);
    const p = await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { event_at: newEvent } });
    expect(p.status).toBe(200);
    expect(p.body.send_at).toBe(new Date(Math.ceil((new Date(newEvent).getTime() - HOUR) / 1000) * 1000).toISOString());
    expect(p.body.event_at).toBe(new Date(newEvent).toISOString());
    expect(h.services.qstash!.pending().some((m) => m.id === old.id)).toBe(false);
    const fresh = pendingFor(h, r.id)!;
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.notBefore).toBe(new Date(p.body.send_at).getTime());

    // send_at alone keeps the event; variables alone changes nothing in the schedule.
    const s = await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { send_at: inHours(70) } });
    expect(s.body.event_at).toBe(new Date(newEvent).toISOString());
    const v = await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { variables: { place: "Lyon" } } });
    expect(v.body).toMatchObject({ send_at: s.body.send_at, variables: { place: "Lyon" } });
    expect(pendingFor(h, r.id)!.notBefore).toBe(new Date(s.body.send_at).getTime());
    expectError(await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { variables: {} } }), 422, "validation_error");
    expectError(await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: {} }), 422, "validation_error");
  });

  it("DELETE cancels (kept, canceled_at set, message canceled); again is the same answer; PATCH then is 409", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const r = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(48) });
    expect(pendingFor(h, r.id)).toBeTruthy();
    const d = await h.call("DELETE", `/v1/reminders/${r.id}`, { token: t.token });
    expect(d.status).toBe(200);
    expect(d.body.status).toBe("canceled");
    expect(d.body.canceled_at).toBeTruthy();
    expect(pendingFor(h, r.id)).toBeUndefined();
    const again = await h.call("DELETE", `/v1/reminders/${r.id}`, { token: t.token });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(d.body);
    const err = expectError(await h.call("PATCH", `/v1/reminders/${r.id}`, { token: t.token, body: { send_at: inHours(50) } }), 409, "conflict");
    expect(err.details).toMatchObject({ reason: "invalid_state", status: "canceled" });
    expectError(await h.call("DELETE", "/v1/reminders/rem_nope", { token: t.token }), 404, "not_found");
  });
});
