import { describe, expect, it } from "vitest";
import { createHarness, expectError } from "../support/harness";
import { expectInvisible } from "../support/tenancy";

const h = await createHarness();

describe("tags: security", () => {
  it("every route answers 401 without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/v1/tags"],
      ["POST", "/v1/tags"],
      ["GET", "/v1/tags/tag_x"],
      ["PATCH", "/v1/tags/tag_x"],
      ["DELETE", "/v1/tags/tag_x"],
    ] as const) {
      expectError(await h.call(method, path, { body: method === "POST" || method === "PATCH" ? { name: "x" } : undefined }), 401, "unauthorized");
    }
  });

  it("another workspace's tags are 404 and absent from lists; same names stay separate", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const theirTag = (await h.call("POST", "/v1/tags", { token: theirs.token, body: { name: "Secret", color: "#111111" } })).body;
    const theirContact = (await h.call("POST", "/v1/contacts", { token: theirs.token, body: {} })).body;
    await h.call("POST", `/v1/contacts/${theirContact.id}/tags`, { token: theirs.token, body: { tag: "Secret" } });
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/tags/${theirTag.id}` },
      { method: "PATCH", path: `/v1/tags/${theirTag.id}`, body: { name: "mine now" } },
      { method: "DELETE", path: `/v1/tags/${theirTag.id}` },
      { list: "/v1/tags?per_page=100", absent: theirTag.id },
    ]);
    // The same name is free in my workspace and is a different tag; removing it by their id does nothing.
    const mineTag = (await h.call("POST", "/v1/tags", { token: mine.token, body: { name: "secret" } })).body;
    expect(mineTag.id).not.toBe(theirTag.id);
    const myContact = (await h.call("POST", "/v1/contacts", { token: mine.token, body: {} })).body;
    const added = await h.call("POST", `/v1/contacts/${myContact.id}/tags`, { token: mine.token, body: { tag: "SECRET" } });
    expect(added.body.id).toBe(mineTag.id);
    expectError(await h.call("DELETE", `/v1/contacts/${myContact.id}/tags/${theirTag.id}`, { token: mine.token }), 404, "not_found");
    // Their tag and its usage are unchanged.
    const theirs2 = await h.call("GET", `/v1/tags/${theirTag.id}`, { token: theirs.token });
    expect(theirs2.body).toMatchObject({ name: "Secret", color: "#111111", counts: { contacts: 1 } });
  });
});
