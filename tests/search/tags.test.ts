// The search's tag filter reads conversations.tag_ids (migration 0009), kept by triggers on
// conversation_tags: it must follow every way a conversation's tags change.
import { describe, expect, it } from "vitest";
import { createHarness } from "../support/harness";
import { conv, ids } from "./helpers";

const h = await createHarness();

describe("search: tag filter follows the tags", () => {
  it("adding, removing, renaming and deleting tags, and deleting conversations", async () => {
    const t = await h.signUp();
    const a = await conv(h, t, { title: "Refund request alpha" });
    const b = await conv(h, t, { title: "Refund request beta" });
    const c = await conv(h, t, { title: "Refund request gamma" });
    const tag = async (id: string, name: string) =>
      expect((await h.call("POST", `/v1/conversations/${id}/tags`, { token: t.token, body: { tag: name } })).status).toBe(201);
    const untag = async (id: string, name: string) =>
      expect((await h.call("DELETE", `/v1/conversations/${id}/tags/${encodeURIComponent(name)}`, { token: t.token })).status).toBe(200);
    const found = async (tags: string[], query = "refund") => (await ids(h, t, query, { filters: { tags } })).sort();

    expect(await found(["vip"])).toEqual([]);
    await tag(a, "VIP");
    await tag(b, "vip");
    await tag(b, "urgent");
    await tag(c, "Later");
    expect(await found(["vip"])).toEqual([a, b].sort());
    expect(await found(["URGENT"])).toEqual([b]);
    expect(await found(["urgent", "later"])).toEqual([b, c].sort());
    expect(await found(["vip"], "")).toEqual([a, b].sort());

    // Removing one tag leaves the conversation's others.
    await untag(b, "VIP");
    expect(await found(["vip"])).toEqual([a]);
    expect(await found(["urgent"])).toEqual([b]);

    // A rename changes the name the filter matches, not the conversations it finds.
    const list = await h.call("GET", "/v1/tags?per_page=100", { token: t.token });
    const later = (list.body.data as { id: string; name: string }[]).find((x) => x.name.toLowerCase() === "later")!;
    expect((await h.call("PATCH", `/v1/tags/${later.id}`, { token: t.token, body: { name: "Follow-up" } })).status).toBe(200);
    expect(await found(["later"])).toEqual([]);
    expect(await found(["follow-up"])).toEqual([c]);

    // Deleting the tag takes it off every conversation; a new tag of the same name starts empty.
    expect((await h.call("DELETE", `/v1/tags/${later.id}`, { token: t.token })).status).toBe(200);
    expect(await found(["follow-up"])).toEqual([]);
    await tag(a, "follow-up");
    expect(await found(["follow-up"])).toEqual([a]);
    expect(await found(["vip", "follow-up"])).toEqual([a]);

    // Tagging again is a no-op; a deleted conversation is gone from the filter.
    expect((await h.call("POST", `/v1/conversations/${a}/tags`, { token: t.token, body: { tag: "vip" } })).status).toBe(200);
    expect((await h.call("DELETE", `/v1/conversations/${b}`, { token: t.token })).status).toBeLessThan(300);
    expect(await found(["urgent"])).toEqual([]);
    expect(await found(["vip"])).toEqual([a]);
  });

  it("another workspace's tag of the same name does not match", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const mine = await conv(h, t, { title: "Invoice question" });
    const theirs = await conv(h, other, { title: "Invoice question" });
    expect((await h.call("POST", `/v1/conversations/${theirs}/tags`, { token: other.token, body: { tag: "billing" } })).status).toBe(201);
    expect(await ids(h, t, "invoice", { filters: { tags: ["billing"] } })).toEqual([]);
    expect((await h.call("POST", `/v1/conversations/${mine}/tags`, { token: t.token, body: { tag: "billing" } })).status).toBe(201);
    expect(await ids(h, t, "invoice", { filters: { tags: ["billing"] } })).toEqual([mine]);
  });
});
