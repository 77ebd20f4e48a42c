// /v1/assistants: CRUD, validation, roles and tenancy.
import { describe, expect, it } from "vitest";
import { Assistant } from "../../functions/chat/schemas";
import { listOf } from "../../lib/openapi";
import { createHarness, expectError } from "../support/harness";
import { addMember } from "../identity/helpers";
import { createAssistant, createKey } from "./helpers";

const h = await createHarness();

describe("assistants", () => {
  it("creates, reads, lists, updates and deletes", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/assistants", { token: t.token, body: { name: " Helper ", instructions: "Be kind.", model: "gpt-4o", temperature: 0.4, knowledge: "We open at 9." } });
    expect(r.status).toBe(201);
    const a = Assistant.parse(r.body);
    expect(a).toMatchObject({ name: "Helper", instructions: "Be kind.", model: "gpt-4o", temperature: expect.closeTo(0.4, 5), knowledge: "We open at 9." });
    expect(a.id).toMatch(/^ast_/);
    expect((await h.call("GET", `/v1/assistants/${a.id}`, { token: t.token })).body).toEqual(r.body);

    const b = await createAssistant(h, t.token, { name: "Another" });
    const list = await h.call("GET", "/v1/assistants?sort=name", { token: t.token });
    expect(list.status).toBe(200);
    const page = listOf(Assistant).parse(list.body);
    expect(page.data.map((x) => x.name)).toEqual(["Another", "Helper"]);
    expect(page.meta.total).toBe(2);

    const u = await h.call("PATCH", `/v1/assistants/${a.id}`, { token: t.token, body: { instructions: "Be brief.", model: null, knowledge: null } });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ name: "Helper", instructions: "Be brief.", model: null, knowledge: null });
    expect(Date.parse(u.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(a.updated_at));

    const d = await h.call("DELETE", `/v1/assistants/${b.id}`, { token: t.token });
    expect(d.body).toEqual({ deleted: true, id: b.id });
    expectError(await h.call("GET", `/v1/assistants/${b.id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/assistants/${b.id}`, { token: t.token }), 404, "not_found");
  });

  it("validates bodies with every problem listed (422) and bad sorts (400)", async () => {
    const t = await h.signUp();
    const r = expectError(await h.call("POST", "/v1/assistants", { token: t.token, body: { name: "", temperature: 3, model: 5, knowledge: "x".repeat(100_001) } }), 422, "validation_error");
    expect(Object.keys(r.details.fields).sort()).toEqual(["instructions", "knowledge", "model", "name", "temperature"]);
    expectError(await h.call("PATCH", "/v1/assistants/ast_x", { token: t.token, body: { temperature: -1 } }), 422, "validation_error");
    expectError(await h.call("GET", "/v1/assistants?sort=secret", { token: t.token }), 400, "bad_request");
  });

  it("lets any agent and write-scoped keys manage assistants; read-only keys only read", async () => {
    const t = await h.signUp();
    const agent = await addMember(h, t, "agent");
    const a = await createAssistant(h, agent.token);
    expect((await h.call("PATCH", `/v1/assistants/${a.id}`, { token: agent.token, body: { name: "Renamed" } })).status).toBe(200);
    const ro = await createKey(h, t.token, ["read"]);
    expect((await h.call("GET", "/v1/assistants", { token: ro })).body.data).toHaveLength(1);
    expectError(await h.call("POST", "/v1/assistants", { token: ro, body: { name: "n", instructions: "i" } }), 403, "forbidden");
    expectError(await h.call("GET", "/v1/assistants"), 401, "unauthorized");
  });

  it("never shows or changes another workspace's assistant", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const a = await createAssistant(h, t.token);
    expectError(await h.call("GET", `/v1/assistants/${a.id}`, { token: other.token }), 404, "not_found");
    expectError(await h.call("PATCH", `/v1/assistants/${a.id}`, { token: other.token, body: { name: "x" } }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/assistants/${a.id}`, { token: other.token }), 404, "not_found");
    expect((await h.call("GET", "/v1/assistants", { token: other.token })).body.data).toEqual([]);
    expect((await h.call("GET", `/v1/assistants/${a.id}`, { token: t.token })).body.name).toBe("Support bot");
  });
});
