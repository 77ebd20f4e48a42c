// The identity Worker as deployed: sign-up, tokens and authenticated reads in workerd against
// real PostgreSQL (Neon driver) and Redis (Upstash REST).
import { describe, expect, it } from "vitest";
import { skipEdge, startWorker, uniqueEmail } from "./support";

describe.skipIf(skipEdge)("identity in workerd", async () => {
  const w = skipEdge ? (undefined as never) : await startWorker("identity");
  const email = uniqueEmail("owner");
  const password = "s3cret-password";
  let token = "";

  it("signs up a workspace (201, request id)", async () => {
    const r = await w.call("POST", "/v1/workspaces", { body: { name: "Edge Co", owner: { name: "Edge Owner", email, password } } });
    expect(r.status, r.text).toBe(201);
    expect(r.body.workspace.id).toMatch(/^ws_/);
    expect(r.body.token_type).toBe("Bearer");
    expect(r.headers.get("x-request-id")).toMatch(/^req_/);
    token = r.body.access_token;
  });

  it("issues tokens for the owner's credentials, request after request", async () => {
    // A Neon Pool kept across requests hangs the second one in workerd: three in a row prove
    // each request gets (and closes) its own.
    for (let i = 0; i < 3; i++) {
      const r = await w.call("POST", "/v1/auth/token", { body: { email, password } });
      expect(r.status, r.text).toBe(200);
      expect(r.body.refresh_token).toMatch(/^rt_/);
      token = r.body.access_token;
    }
  });

  it("serves an authenticated read, and 401 without credentials", async () => {
    const r = await w.call("GET", "/v1/agents", { token });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.map((a: { email: string }) => a.email)).toContain(email.toLowerCase());
    const anon = await w.call("GET", "/v1/agents");
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe("unauthorized");
  });

  it("answers errors in the contract's shape, echoing the client's request id", async () => {
    // DELETE: /v1/agents/{id} has no GET (that is 405 with Allow since 71f1707).
    const nf = await w.call("DELETE", "/v1/agents/agt_doesnotexist", { token, headers: { "x-request-id": "edge-trace-1" } });
    expect(nf.status).toBe(404);
    expect(nf.body.error).toMatchObject({ code: "not_found", request_id: "edge-trace-1" });
    expect(nf.headers.get("x-request-id")).toBe("edge-trace-1");

    const bad = await w.call("POST", "/v1/workspaces", { body: { name: "", owner: { email: "nope", password: "x" } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("validation_error");
    expect(Object.keys(bad.body.error.details.fields)).toEqual(expect.arrayContaining(["name", "owner.email", "owner.password"]));
    expect(bad.body.error.request_id).toMatch(/^req_/);
  });

  it("rejects a wrong password with 401", async () => {
    const r = await w.call("POST", "/v1/auth/token", { body: { email, password: "wrong-password" } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });
});
