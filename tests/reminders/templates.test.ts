// /v1/reminder-templates: CRUD, variables checked at creation (unknown or malformed → 422),
// filters, the 409 while reminders of a template are scheduled.
import { describe, expect, it } from "vitest";
import { ReminderTemplate } from "../../functions/email/reminders.schemas";
import { createHarness, expectError } from "../support/harness";
import { contact, EMAIL_TEMPLATE, inHours, reminder, template } from "./helpers";

const h = await createHarness();

describe("reminder templates", () => {
  it("creates, gets, lists, updates and deletes a template", async () => {
    const t = await h.signUp();
    const created = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: EMAIL_TEMPLATE });
    expect(created.status).toBe(201);
    expect(ReminderTemplate.parse(created.body)).toBeTruthy();
    expect(created.body).toMatchObject({ name: "Appointment", channel: "email", offset_minutes: -60, active: true, whatsapp_template: null });
    expect(created.body.id).toMatch(/^rtpl_/);
    expect(created.body.variables).toEqual(["event_at", "contact.name", "variables.place"]);

    const got = await h.call("GET", `/v1/reminder-templates/${created.body.id}`, { token: t.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const patched = await h.call("PATCH", `/v1/reminder-templates/${created.body.id}`, { token: t.token, body: { offset_minutes: -120, active: false, name: "Renamed" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ offset_minutes: -120, active: false, name: "Renamed", subject: EMAIL_TEMPLATE.subject });

    const list = await h.call("GET", "/v1/reminder-templates?active=false", { token: t.token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((x: { id: string }) => x.id)).toEqual([created.body.id]);
    expect((await h.call("GET", "/v1/reminder-templates?active=true", { token: t.token })).body.data).toEqual([]);
    expect((await h.call("GET", "/v1/reminder-templates?channel=whatsapp", { token: t.token })).body.data).toEqual([]);

    const del = await h.call("DELETE", `/v1/reminder-templates/${created.body.id}`, { token: t.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ deleted: true, id: created.body.id });
    expectError(await h.call("GET", `/v1/reminder-templates/${created.body.id}`, { token: t.token }), 404, "not_found");
  });

  it("creates a WhatsApp template with a WhatsApp message template", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/reminder-templates", {
      token: t.token,
      body: { name: "WA", channel: "whatsapp", body: "{{contact.name}} {{event_at}}", offset_minutes: -30, whatsapp_template: { name: "appointment_reminder", language: "en_US" } },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ channel: "whatsapp", subject: null, whatsapp_template: { name: "appointment_reminder", language: "en_US" } });
  });

  it("refuses unknown variables and malformed braces with 422 naming the field", async () => {
    const t = await h.signUp();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ body: "Hi {{contact.phone}}" }, "body", /Unknown variable \{\{contact\.phone\}\}/],
      [{ body: "Hi {{ user.name }}" }, "body", /Unknown variable/],
      [{ subject: "At {{eventat}}" }, "subject", /Unknown variable/],
      [{ body: "Hi {{variables.}}" }, "body", /Unknown variable/],
      [{ body: "Hi {{variables.1x}}" }, "body", /Unknown variable/],
      [{ body: "Hi {{contact.name}" }, "body", /Unbalanced braces/],
      [{ body: "Hi contact.name}}" }, "body", /Unbalanced braces/],
      [{ body: "Hi {{ {{contact.name}} }}" }, "body", /Unbalanced braces/],
      [{ body: "Hi {{}}" }, "body", /Unknown variable/],
    ];
    for (const [patch, field, message] of cases) {
      const r = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, ...patch } });
      const err = expectError(r, 422, "validation_error");
      expect(err.details.fields[field]?.join(" "), JSON.stringify(patch)).toMatch(message);
    }
    // The same check on update.
    const tpl = await template(h, t);
    const r = await h.call("PATCH", `/v1/reminder-templates/${tpl.id}`, { token: t.token, body: { body: "{{contact.address}}" } });
    expect(expectError(r, 422, "validation_error").details.fields.body).toBeTruthy();
  });

  it("refuses other invalid bodies with 422, every field listed", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { channel: "sms", body: "", offset_minutes: 1.5, active: "yes" } });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(expect.arrayContaining(["active", "body", "channel", "name", "offset_minutes"]));
    const noSubject = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, subject: undefined } });
    expect(expectError(noSubject, 422, "validation_error").details.fields.subject).toBeTruthy();
    const waOnEmail = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, whatsapp_template: { name: "x", language: "en" } } });
    expect(expectError(waOnEmail, 422, "validation_error").details.fields.whatsapp_template).toBeTruthy();
    const offset = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, offset_minutes: 10_000_000 } });
    expect(expectError(offset, 422, "validation_error").details.fields.offset_minutes).toBeTruthy();
    const nul = await h.call("POST", "/v1/reminder-templates", { token: t.token, body: { ...EMAIL_TEMPLATE, name: "a\u0000b" } });
    expect(expectError(nul, 422, "validation_error").details.fields.name).toBeTruthy();
    // An email template keeps its subject through a PATCH.
    const tpl = await template(h, t);
    const cleared = await h.call("PATCH", `/v1/reminder-templates/${tpl.id}`, { token: t.token, body: { subject: null } });
    expect(expectError(cleared, 422, "validation_error").details.fields.subject).toBeTruthy();
    expectError(await h.call("GET", "/v1/reminder-templates?sort=bogus", { token: t.token }), 400, "bad_request");
  });

  it("refuses to delete a template while reminders of it are scheduled (409), then allows it", async () => {
    const t = await h.signUp();
    const tpl = await template(h, t);
    const ct = await contact(h, t);
    const rem = await reminder(h, t, { template_id: tpl.id, contact_id: ct.id, event_at: inHours(48) });
    const err = expectError(await h.call("DELETE", `/v1/reminder-templates/${tpl.id}`, { token: t.token }), 409, "conflict");
    expect(err.details).toMatchObject({ reason: "template_in_use", scheduled_reminders: 1 });
    expect((await h.call("DELETE", `/v1/reminders/${rem.id}`, { token: t.token })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/reminder-templates/${tpl.id}`, { token: t.token })).status).toBe(200);
    expectError(await h.call("GET", `/v1/reminders/${rem.id}`, { token: t.token }), 404, "not_found");
  });
});
