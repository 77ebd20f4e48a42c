import { describe, expect, it } from "vitest";
import { createHarness, expectError, unique } from "../support/harness";

const h = await createHarness();

describe("POST /v1/workspaces", () => {
  it("creates a workspace, its owner and a token pair", async () => {
    const email = `${unique("a")}@Example.com`;
    const r = await h.call("POST", "/v1/workspaces", { body: { name: "Acme", owner: { name: "Ada", email, password: "password123" } } });
    expect(r.status).toBe(201);
    expect(r.body.workspace.id).toMatch(/^ws_/);
    expect(r.body.agent).toMatchObject({ role: "owner", email: email.toLowerCase(), workspace_id: r.body.workspace.id });
    expect(r.body.token_type).toBe("Bearer");
    expect(r.body.expires_in).toBe(900);
    expect(r.body.refresh_token).toMatch(/^rt_/);
    expect(r.body.agent.password_hash).toBeUndefined();
    expect(r.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("lists every validation problem", async () => {
    const r = await h.call("POST", "/v1/workspaces", { body: { name: "", owner: { email: "nope", password: "x" } } });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["name", "owner.email", "owner.name", "owner.password"]);
  });

  it("answers 400 to malformed JSON and 409 to a taken email", async () => {
    expectError(await h.call("POST", "/v1/workspaces", { raw: "{nope", headers: { "content-type": "application/json" } }), 400, "bad_request");
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/workspaces", { body: { name: "Other", owner: { name: "X", email: t.email.toUpperCase(), password: "password123" } } });
    expectError(r, 409, "conflict");
  });

  it("echoes the client's request id", async () => {
    const r = await h.call("GET", "/v1/nothing-here", { headers: { "x-request-id": "my-trace-42" } });
    const err = expectError(r, 404, "not_found");
    expect(err.request_id).toBe("my-trace-42");
    expect(r.headers.get("x-request-id")).toBe("my-trace-42");
  });
});
