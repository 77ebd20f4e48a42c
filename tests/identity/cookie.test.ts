import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { cookieLogin, SAME_ORIGIN } from "./helpers";

const h = await createHarness();

describe("cookie sessions", () => {
  it("login sets an HttpOnly, SameSite=Lax cookie (not Secure on plain-http localhost)", async () => {
    const t = await h.signUp();
    const r = await h.call("POST", "/v1/auth/login", { body: { email: t.email, password: t.password } });
    expect(r.status).toBe(200);
    expect(r.body.agent.id).toBe(t.agentId);
    expect(r.body.workspace.id).toBe(t.workspaceId);
    expect(Date.parse(r.body.expires_at)).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const sc = r.headers.get("set-cookie") ?? "";
    expect(sc).toMatch(/^parley_session=[A-Za-z0-9_-]{40,};/);
    expect(sc).toMatch(/; HttpOnly/i);
    expect(sc).toMatch(/; SameSite=Lax/i);
    expect(sc).toMatch(/; Path=\//i);
    expect(sc).not.toMatch(/; Secure/i);
    expect(r.text).not.toContain(sc.split(";")[0]!.split("=")[1]);
  });

  it("login over https sets a Secure cookie", async () => {
    const t = await h.signUp();
    const res = await h.dispatch(
      new Request("https://api.example.com/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: t.email, password: t.password }),
      }),
    );
    expect(res.status).toBe(200);
    const sc = res.headers.get("set-cookie") ?? "";
    expect(sc).toMatch(/; Secure/i);
    expect(sc).toMatch(/; HttpOnly/i);
    expect(sc).toMatch(/; SameSite=Lax/i);
    // Same-origin check against the https origin.
    const cookie = sc.split(";")[0]!;
    const patch = (origin?: string) =>
      h.dispatch(
        new Request("https://api.example.com/v1/settings/workspace", {
          method: "PATCH",
          headers: { cookie, "content-type": "application/json", ...(origin ? { origin } : {}) },
          body: JSON.stringify({ name: "Over https" }),
        }),
      );
    expect((await patch("https://evil.example.com")).status).toBe(403);
    expect((await patch("http://api.example.com")).status).toBe(403);
    expect((await patch("https://api.example.com")).status).toBe(200);
  });

  it("a cookie authenticates reads without Origin", async () => {
    const t = await h.signUp();
    const { cookie } = await cookieLogin(h, t.email, t.password);
    const r = await h.call("GET", "/v1/settings/workspace", { headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(t.workspaceId);
    expect((await h.call("GET", "/v1/auth/me", { headers: { cookie } })).body.auth.via).toBe("cookie");
  });

  it("refuses unsafe cookie requests without a same-origin Origin, and accepts them with it", async () => {
    const t = await h.signUp();
    const { cookie } = await cookieLogin(h, t.email, t.password);
    const cases: Array<[string, string, unknown]> = [
      ["POST", "/v1/api-keys", { name: "k" }],
      ["PATCH", "/v1/settings/workspace", { name: "Cookie rename" }],
    ];
    for (const [method, path, body] of cases) {
      const none = expectError(await h.call(method, path, { headers: { cookie }, body }), 403, "forbidden");
      expect(none.message).toMatch(/Origin/);
      expectError(await h.call(method, path, { headers: { cookie, origin: "https://evil.example.com" }, body }), 403, "forbidden");
      expectError(await h.call(method, path, { headers: { cookie, origin: "null" }, body }), 403, "forbidden");
      expect((await h.call(method, path, { headers: { cookie, ...SAME_ORIGIN }, body })).status).toBeLessThan(300);
    }
    // DELETE too.
    const key = await h.call("POST", "/v1/api-keys", { headers: { cookie, ...SAME_ORIGIN }, body: { name: "to delete" } });
    expectError(await h.call("DELETE", `/v1/api-keys/${key.body.id}`, { headers: { cookie } }), 403, "forbidden");
    expect((await h.call("DELETE", `/v1/api-keys/${key.body.id}`, { headers: { cookie, ...SAME_ORIGIN } })).status).toBe(200);
  });

  it("logout invalidates the cookie and clears it", async () => {
    const t = await h.signUp();
    const { cookie } = await cookieLogin(h, t.email, t.password);
    expectError(await h.call("POST", "/v1/auth/logout", { headers: { cookie } }), 403, "forbidden");
    const r = await h.call("POST", "/v1/auth/logout", { headers: { cookie, ...SAME_ORIGIN } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ logged_out: true });
    expect(r.headers.get("set-cookie")).toMatch(/^parley_session=;.*Max-Age=0/i);
    const after = expectError(await h.call("GET", "/v1/settings/workspace", { headers: { cookie } }), 401, "unauthorized");
    expect(after.message).toMatch(/sign in again/);
    // Logging out without a session is harmless.
    expect((await h.call("POST", "/v1/auth/logout")).status).toBe(200);
  });

  it("refuses a forged cookie and wrong credentials", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/auth/me", { headers: { cookie: "parley_session=forged" } }), 401, "unauthorized");
    expectError(await h.call("POST", "/v1/auth/login", { body: { email: t.email, password: "wrong-password" } }), 401, "unauthorized");
    const bad = expectError(await h.call("POST", "/v1/auth/login", { body: { email: "x" } }), 422, "validation_error");
    expect(Object.keys(bad.details.fields).sort()).toEqual(["email", "password"]);
    expectError(await h.call("POST", "/v1/auth/login", { raw: "{", headers: { "content-type": "application/json" } }), 400, "bad_request");
  });

  it("a cookie only reaches its own workspace", async () => {
    const a = await h.signUp();
    const b = await h.signUp();
    const { cookie } = await cookieLogin(h, a.email, a.password);
    const key = await h.call("POST", "/v1/api-keys", { token: b.token, body: { name: "b" } });
    expectError(await h.call("DELETE", `/v1/api-keys/${key.body.id}`, { headers: { cookie, ...SAME_ORIGIN } }), 404, "not_found");
    expect((await h.call("GET", "/v1/settings/workspace", { headers: { cookie } })).body.id).toBe(a.workspaceId);
  });
});
