import { describe, expect, it } from "vitest";
import { PasswordChanged, Workspace } from "../../functions/identity/schemas";
import { createHarness, expectError } from "../support/harness";
import { addMember, cookieLogin, createKey, SAME_ORIGIN } from "./helpers";

const h = await createHarness();
const JSON_HEADERS = { "content-type": "application/json" };

describe("workspace settings: happy path", () => {
  it("shows the workspace with default settings to any member", async () => {
    const t = await h.signUp({ name: "Acme" });
    const m = await addMember(h, t, "agent");
    const r = await h.call("GET", "/v1/settings/workspace", { token: m.token });
    expect(r.status).toBe(200);
    expect(Workspace.parse(r.body)).toMatchObject({ id: t.workspaceId, name: "Acme", plan: "free", settings: { timezone: "UTC", search_language: "english" } });
  });

  it("renames and merges settings key by key (PATCH)", async () => {
    const t = await h.signUp();
    const a = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { settings: { timezone: "Europe/Paris" } } });
    expect(a.status).toBe(200);
    expect(a.body.settings).toEqual({ timezone: "Europe/Paris", search_language: "english" });
    const b = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: { name: "Renamed", settings: { search_language: "simple" } } });
    expect(Workspace.parse(b.body)).toMatchObject({ name: "Renamed", settings: { timezone: "Europe/Paris", search_language: "simple" } });
    expect(Date.parse(b.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(a.body.updated_at));
    const get = await h.call("GET", "/v1/settings/workspace", { token: t.token });
    expect(get.body).toEqual(b.body);
    // An empty patch changes nothing.
    const c = await h.call("PATCH", "/v1/settings/workspace", { token: t.token, body: {} });
    expect(c.body).toEqual(b.body);
  });

  it("accepts POST as an alias of PATCH", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/settings/workspace", { token: t.token, body: { name: "Via POST", settings: { timezone: "Asia/Tokyo" } } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "Via POST", settings: { timezone: "Asia/Tokyo" } });
  });

  it("lets an admin update, and an admin-scoped API key", async () => {
    const t = await h.signUp();
    const admin = await addMember(h, t, "admin");
    expect((await h.call("PATCH", "/v1/settings/workspace", { token: admin.token, body: { name: "By admin" } })).status).toBe(200);
    const k = await createKey(h, t.token, ["read", "write", "admin"]);
    expect((await h.call("PATCH", "/v1/settings/workspace", { headers: { "x-api-key": k.key }, body: { name: "By key" } })).body.name).toBe("By key");
  });
});

describe("workspace settings: errors", () => {
  it("lists every validation problem, unknown settings keys included", async () => {
    const t = await h.signUp();
    const r = await h.call("PATCH", "/v1/settings/workspace", {
      token: t.token,
      body: { name: "", settings: { timezone: "Mars/Olympus", search_language: "klingon", timeZone: "UTC" } },
    });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields).sort()).toEqual(["name", "settings", "settings.search_language", "settings.timezone"]);
    expectError(await h.call("POST", "/v1/settings/workspace", { token: t.token, body: { settings: "UTC" } }), 422, "validation_error");
  });

  it("answers 400 to malformed JSON", async () => {
    const t = await h.signUp();
    expectError(await h.call("PATCH", "/v1/settings/workspace", { token: t.token, raw: "{x", headers: JSON_HEADERS }), 400, "bad_request");
    expectError(await h.call("POST", "/v1/settings/workspace", { token: t.token, raw: "{x", headers: JSON_HEADERS }), 400, "bad_request");
  });

  it("answers 404 to a path it does not have, 405 with Allow to a method it does not have", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/settings/nothing", { token: t.token }), 404, "not_found");
    const r = await h.call("DELETE", "/v1/settings/workspace", { token: t.token });
    expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("GET, HEAD, POST, PATCH");
  });
});

describe("workspace settings: security", () => {
  it("needs credentials", async () => {
    expectError(await h.call("GET", "/v1/settings/workspace"), 401, "unauthorized");
    expectError(await h.call("PATCH", "/v1/settings/workspace", { body: { name: "x" } }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/settings/workspace", { body: { name: "x" } }), 401, "unauthorized");
  });

  it("is admin-only for updates", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    expectError(await h.call("PATCH", "/v1/settings/workspace", { token: m.token, body: { name: "x" } }), 403, "forbidden");
    expectError(await h.call("POST", "/v1/settings/workspace", { token: m.token, body: { name: "x" } }), 403, "forbidden");
    const rw = await createKey(h, t.token, ["read", "write"]);
    expectError(await h.call("PATCH", "/v1/settings/workspace", { token: rw.key, body: { name: "x" } }), 403, "forbidden");
    const writeOnly = await createKey(h, t.token, ["write"]);
    expectError(await h.call("GET", "/v1/settings/workspace", { token: writeOnly.key }), 403, "forbidden");
  });

  it("only ever reads and changes the caller's own workspace", async () => {
    const a = await h.signUp({ name: "A" });
    const b = await h.signUp({ name: "B" });
    await h.call("PATCH", "/v1/settings/workspace", { token: a.token, body: { name: "A2", settings: { timezone: "Europe/Berlin" } } });
    const rb = await h.call("GET", "/v1/settings/workspace", { token: b.token });
    expect(rb.body).toMatchObject({ id: b.workspaceId, name: "B", settings: { timezone: "UTC" } });
  });
});

describe("POST /v1/settings/password", () => {
  it("changes the password, revokes refresh tokens and other sessions, and gives a JWT caller a new pair", async () => {
    const t = await h.signUp();
    const other = await cookieLogin(h, t.email, t.password);
    const r = await h.call("POST", "/v1/settings/password", { token: t.token, body: { current_password: t.password, new_password: "brand-new-password" } });
    expect(r.status).toBe(200);
    const body = PasswordChanged.parse(r.body);
    expect(body.tokens).not.toBeNull();
    expectError(await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: t.refreshToken } }), 401, "unauthorized");
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie: other.cookie } }), 401, "unauthorized");
    expect((await h.call("POST", "/v1/auth/refresh", { body: { refresh_token: body.tokens!.refresh_token } })).status).toBe(200);
    expectError(await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: t.password } }), 401, "unauthorized");
    expect((await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: "brand-new-password" } })).status).toBe(200);
  });

  it("keeps the cookie session making the change, and checks its Origin", async () => {
    const t = await h.signUp();
    const mine = await cookieLogin(h, t.email, t.password);
    const other = await cookieLogin(h, t.email, t.password);
    const body = { current_password: t.password, new_password: "brand-new-password" };
    expectError(await h.call("POST", "/v1/settings/password", { headers: { cookie: mine.cookie }, body }), 403, "forbidden");
    const r = await h.call("POST", "/v1/settings/password", { headers: { cookie: mine.cookie, ...SAME_ORIGIN }, body });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ password_changed: true, tokens: null });
    expect((await h.call("GET", "/v1/auth/me", { headers: { cookie: mine.cookie } })).status).toBe(200);
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie: other.cookie } }), 401, "unauthorized");
  });

  it("answers 422 on the field for a wrong current password, and lists every problem", async () => {
    const t = await h.signUp();
    const wrong = expectError(
      await h.call("POST", "/v1/settings/password", { token: t.token, body: { current_password: "not-it", new_password: "brand-new-password" } }),
      422,
      "validation_error",
    );
    expect(wrong.details.fields).toEqual({ current_password: ["Incorrect password."] });
    const bad = expectError(await h.call("POST", "/v1/settings/password", { token: t.token, body: { new_password: "short" } }), 422, "validation_error");
    expect(Object.keys(bad.details.fields).sort()).toEqual(["current_password", "new_password"]);
    expectError(await h.call("POST", "/v1/settings/password", { token: t.token, raw: "{", headers: JSON_HEADERS }), 400, "bad_request");
    // Nothing changed.
    expect((await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: t.password } })).status).toBe(200);
  });

  it("needs an agent: no credentials 401, an API key 403", async () => {
    const t = await h.signUp();
    const body = { current_password: t.password, new_password: "brand-new-password" };
    expectError(await h.call("POST", "/v1/settings/password", { body }), 401, "unauthorized");
    const k = await createKey(h, t.token, ["read", "write", "admin"]);
    expectError(await h.call("POST", "/v1/settings/password", { token: k.key, body }), 403, "forbidden");
  });

  it("changes only the caller's own password", async () => {
    const t = await h.signUp();
    const m = await addMember(h, t, "agent");
    await h.call("POST", "/v1/settings/password", { token: m.token, body: { current_password: m.password, new_password: "member-new-password" } });
    expect((await h.call("POST", "/v1/auth/token", { body: { email: t.email, password: t.password } })).status).toBe(200);
    expect((await h.call("POST", "/v1/auth/token", { body: { email: m.email, password: "member-new-password" } })).status).toBe(200);
  });
});
