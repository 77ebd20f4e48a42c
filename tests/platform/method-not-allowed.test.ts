// A wrong method on a path that exists is 405 with Allow, in the contract's error shape
// (issue 16 item 12); a path that does not exist stays 404.
import { describe, expect, it } from "vitest";
import { ErrorSchema } from "../../lib/errors";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();

describe("405 method_not_allowed", () => {
  it("names the allowed methods in Allow and in details, with the request id", async () => {
    const t = await h.signUp();
    const created = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Allow" } });
    const r = await h.call("PUT", `/v1/conversations/${created.body.id}`, { token: t.token, body: { title: "x" }, headers: { "x-request-id": "req-allow-1" } });
    const err = expectError(r, 405, "method_not_allowed");
    expect(r.headers.get("allow")).toBe("GET, HEAD, PATCH, DELETE");
    expect(err.details).toEqual({ allowed: ["GET", "HEAD", "PATCH", "DELETE"] });
    expect(err.request_id).toBe("req-allow-1");
    expect(r.headers.get("x-request-id")).toBe("req-allow-1");
    expect(ErrorSchema.safeParse(r.body).success).toBe(true);

    const collection = await h.call("DELETE", "/v1/conversations", { token: t.token });
    expectError(collection, 405, "method_not_allowed");
    expect(collection.headers.get("allow")).toBe("GET, HEAD, POST");

    // Other functions too: a workspace-level path and an auth path.
    const tags = await h.call("PUT", "/v1/tags", { token: t.token, body: {} });
    expect(tags.status).toBe(405);
    expect(tags.headers.get("allow")).toContain("POST");
    const auth = await h.call("GET", "/v1/auth/token", { token: t.token });
    expect(auth.status).toBe(405);
    expect(auth.headers.get("allow")).toBe("POST");
  });

  it("a path that does not exist is still 404", async () => {
    const t = await h.signUp();
    expectError(await h.call("GET", "/v1/conversations/conv_x/nothing-here", { token: t.token }), 404, "not_found");
    expectError(await h.call("PUT", "/v1/nothing-here", { token: t.token }), 404, "not_found");
  });
});
