import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { Me, TokenPair } from "../../functions/identity/schemas";
import { issueAccessToken } from "../../lib/auth";
import { createHarness, expectError, unique } from "../support/harness";
import { addMember } from "./helpers";

const h = await createHarness();
const secret = h.services.config.jwtSecret;

describe("POST /v1/auth/token", () => {
  it("exchanges email and password for a token pair", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/auth/token", { body: { email: ` ${t.email.toUpperCase()} `, password: t.password } });
    expect(r.status).toBe(200);
    TokenPair.parse(r.body);
    expect(r.body.agent).toMatchObject({ id: t.agentId, role: "owner" });
    expect(r.body.agent.last_login_at).toMatch(/^\d{4}-/);
    const me = await h.call("GET", "/v1/auth/me", { token: r.body.access_token });
    expect(Me.parse(me.body).agent?.id).toBe(t.agentId);
  });

  it("answers unknown email and wrong password with the same 401", async () => {
    const t = await h.signUp();
    const unknown = await h.call("POST", "/v1/auth/token", { body: { email: `${unique("nobody")}@example.com`, password: t.password } });
    const wrong = await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: "wrong-password" } });
    const a = expectError(unknown, 401, "unauthorized");
    const b = expectError(wrong, 401, "unauthorized");
    expect({ ...a, request_id: "" }).toEqual({ ...b, request_id: "" });
    // The cookie login says the same.
    const c = expectError(await h.call("POST", "/v1/auth/login", { body: { email: t.email, password: "nope" } }), 401, "unauthorized");
    expect(c.message).toBe(a.message);
  });

  it("lists every validation problem and answers 400 to malformed JSON", async () => {
    const r = await h.call("POST", "/v1/auth/token", { body: { email: "nope", password: "" } });
    expect(Object.keys(expectError(r, 422, "validation_error").details.fields).sort()).toEqual(["email", "password"]);
    expectError(await h.call("POST", "/v1/auth/token", { raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });
});

describe("POST /v1/auth/refresh", () => {
  it("rotates: a new pair, and the old refresh token stops working", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } });
    expect(r.status).toBe(200);
    const pair = TokenPair.parse(r.body);
    expect(pair.refresh_token).not.toBe(t.refreshToken);
    expect((await h.call("GET", "/v1/auth/me", { token: pair.access_token })).status).toBe(200);
    const again = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } });
    expect(expectError(again, 401, "unauthorized").message).toMatch(/already used/);
  });

  it("revokes the whole family when a rotated token is reused: the newest token stops working too", async () => {
    const t = await h.signUp();
    const first = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } });
    const second = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: first.body.refresh_token } });
    expect(second.status).toBe(200);
    // A thief replays the first token.
    expectError(await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } }), 401, "unauthorized");
    const newest = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: second.body.refresh_token } });
    expect(expectError(newest, 401, "unauthorized").message).toMatch(/invalid, expired or revoked/);
  });

  it("leaves other sign-ins of the same agent alone", async () => {
    const t = await h.signUp();
    const other = await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: t.password } });
    await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } });
    await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } }); // reuse → this family revoked
    expect((await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: other.body.refresh_token } })).status).toBe(200);
  });

  it("refuses garbage, and answers 422 to a missing token", async () => {
    expectError(await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: "rt_garbage" } }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/auth/refresh", { body: {} }), 422, "validation_error");
    expectError(await h.call("POST", "/v1/auth/refresh", { raw: "nope", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });

  it("gives the new access token the agent's current role", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    await h.call("POST", `/v1/agents/${m.id}/role`, { token: t.token, body: { role: "admin" } });
    const r = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: m.refreshToken } });
    expect((await h.call("GET", "/v1/auth/me", { token: r.body.access_token })).body.auth.role).toBe("admin");
  });
});

describe("POST /v1/auth/revoke", () => {
  it("revokes a refresh token and its family; unknown tokens also answer 200", async () => {
    const t = await h.signUp();
    const rotated = await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } });
    const r = await h.call("POST", "/v1/auth/revoke", { body: { refresh_token: t.refreshToken } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ revoked: true });
    expectError(await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: rotated.body.refresh_token } }), 401, "unauthorized");
    expect((await h.call("POST", "/v1/auth/revoke", { body: { refresh_token: "rt_unknown" } })).body).toEqual({ revoked: true });
    expectError(await h.call("POST", "/v1/auth/revoke", { body: { refresh_token: 42 } }), 422, "validation_error");
    expectError(await h.call("POST", "/v1/auth/revoke", { raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });
});

describe("access tokens", () => {
  it("refuses an expired token with a clear message", async () => {
    const t = await h.signUp();
    const old = await issueAccessToken({ id: t.agentId, workspaceId: t.workspaceId, role: "owner" }, secret, Math.floor(Date.now() / 1000) - 3600);
    const e = expectError(await h.call("GET", "/v1/auth/me", { token: old }), 401, "unauthorized");
    expect(e.message).toBe("The access token has expired; refresh it.");
  });

  it("refuses garbage, a wrong signature, a token of another type and a bad header", async () => {
    const t = await h.signUp();
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: t.agentId, wid: t.workspaceId, role: "owner", typ: "access", iat: now, exp: now + 900 };
    const forged = await sign(claims, "not-the-secret", "HS256");
    const refreshTyped = await sign({ ...claims, typ: "refresh" }, secret, "HS256");
    const noneAlg = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" }))}.${btoa(JSON.stringify(claims))}.`;
    for (const token of ["garbage", "a.b.c", forged, refreshTyped, noneAlg]) {
      const e = expectError(await h.call("GET", "/v1/auth/me", { token }), 401, "unauthorized");
      expect(e.message).toBe("The access token is invalid.");
    }
    const basic = expectError(await h.call("GET", "/v1/auth/me", { headers: { authorization: "Basic dXNlcjpwYXNz" } }), 401, "unauthorized");
    expect(basic.message).toMatch(/Bearer/);
  });

  it("cannot be pointed at another workspace", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const now = Math.floor(Date.now() / 1000);
    // Correctly signed, but a's agent does not belong to b's workspace.
    const crossed = await sign({ sub: a.agentId, wid: b.workspaceId, role: "owner", typ: "access", iat: now, exp: now + 900 }, secret, "HS256");
    expectError(await h.call("GET", "/v1/settings/workspace", { token: crossed }), 401, "unauthorized");
  });

  it("answers 401 with WWW-Authenticate when no credential is sent", async () => {
    const r = await h.call("GET", "/v1/auth/me");
    expectError(r, 401, "unauthorized");
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});

describe("GET /v1/auth/me", () => {
  it("describes an agent caller", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "admin");
    const r = await h.call("GET", "/v1/auth/me", { token: m.token });
    expect(Me.parse(r.body)).toMatchObject({
      workspace: { id: t.workspaceId },
      agent: { id: m.id, role: "admin" },
      auth: { via: "jwt", role: "admin", scopes: ["read", "write", "admin"], api_key_id: null },
    });
  });
});
