import { describe, expect, it } from "vitest";
import { Attachment } from "../../functions/files/schemas";
import { createHarness, expectError, type Tenant } from "../support/harness";
import { expectInvisible } from "../support/tenancy";
import { fetchLink, form, upload } from "./helpers";

const h = await createHarness();

async function conversation(t: Tenant) {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Broken parcel", source: "api" } });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

describe("conversation attachments", () => {
  it("uploads to a conversation, lists it, shows it in GET /v1/conversations/{id} with a working signed url", async () => {
    const t = await h.signUp();
    const conv = await conversation(t);
    const r = await upload(h, `/v1/conversations/${conv}/attachments`, t.token, form("%PDF-1.4 fake", "photo of box.pdf", "application/pdf"));
    expect(r.status, r.text).toBe(201);
    Attachment.parse(r.body);
    expect(r.body).toMatchObject({ filename: "photo of box.pdf", size: 13, mime_type: "application/pdf", conversation_id: conv });

    const list = await h.call("GET", `/v1/conversations/${conv}/attachments`, { token: t.token });
    expect(list.status).toBe(200);
    expect(list.body.meta.total).toBe(1);
    expect(list.body.data.map((a: { id: string }) => a.id)).toEqual([r.body.id]);

    const detail = await h.call("GET", `/v1/conversations/${conv}`, { token: t.token });
    expect(detail.status).toBe(200);
    expect(detail.body.attachments).toHaveLength(1);
    const a = detail.body.attachments[0];
    expect(Object.keys(a)).toEqual(expect.arrayContaining(["id", "filename", "size", "mime_type", "url"]));
    expect(a).toMatchObject({ id: r.body.id, filename: "photo of box.pdf", size: 13, mime_type: "application/pdf" });
    const got = await fetchLink(h, a.url);
    expect(got.status).toBe(200);
    expect(got.text).toBe("%PDF-1.4 fake");

    const file = await h.call("GET", `/v1/files/${r.body.id}`, { token: t.token });
    expect(file.body).toMatchObject({ kind: "attachment", conversation_id: conv });
  });

  it("attaches an uploaded file by file_id (again: unchanged), and refuses one attached elsewhere (409) or unknown (422)", async () => {
    const t = await h.signUp();
    const [c1, c2] = [await conversation(t), await conversation(t)];
    const f = (await upload(h, "/v1/files", t.token, form("abc"))).body;
    const a = await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token, body: { file_id: f.id } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ id: f.id, conversation_id: c1 });
    expect((await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token, body: { file_id: f.id } })).status).toBe(201);
    expectError(await h.call("POST", `/v1/conversations/${c2}/attachments`, { token: t.token, body: { file_id: f.id } }), 409, "conflict");
    const e = expectError(await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token, body: { file_id: "file_nope" } }), 422, "validation_error");
    expect(e.details.fields.file_id).toBeTruthy();
    expectError(await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token, body: {} }), 422, "validation_error");
    expectError(await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token, raw: "x", headers: { "content-type": "text/plain" } }), 400, "bad_request");
    expectError(await h.call("POST", `/v1/conversations/${c1}/attachments`, { token: t.token }), 400, "bad_request");
    expectError(await upload(h, "/v1/conversations/conv_nope/attachments", t.token, form("x")), 404, "not_found");
  });

  it("DELETE removes an uploaded attachment with its bytes, but only detaches a file attached by id", async () => {
    const t = await h.signUp();
    const conv = await conversation(t);
    const up = (await upload(h, `/v1/conversations/${conv}/attachments`, t.token, form("gone soon"))).body;
    const byId = (await upload(h, "/v1/files", t.token, form("stays"))).body;
    await h.call("POST", `/v1/conversations/${conv}/attachments`, { token: t.token, body: { file_id: byId.id } });

    const d1 = await h.call("DELETE", `/v1/attachments/${up.id}`, { token: t.token });
    expect(d1.status, d1.text).toBe(200);
    expect(d1.body).toEqual({ deleted: true, id: up.id, file_deleted: true });
    expectError(await h.call("GET", `/v1/files/${up.id}`, { token: t.token }), 404, "not_found");
    expect((await fetchLink(h, up.url)).status).toBe(404);

    const d2 = await h.call("DELETE", `/v1/attachments/${byId.id}`, { token: t.token });
    expect(d2.body).toEqual({ deleted: true, id: byId.id, file_deleted: false });
    expect((await h.call("GET", `/v1/files/${byId.id}`, { token: t.token })).body).toMatchObject({ conversation_id: null });
    expect((await h.call("GET", `/v1/conversations/${conv}`, { token: t.token })).body.attachments).toEqual([]);
    expectError(await h.call("DELETE", `/v1/attachments/${byId.id}`, { token: t.token }), 404, "not_found");
  });

  it("message attachment_ids must be files of the workspace (422 naming the position); known ones become attachments", async () => {
    const [t, other] = [await h.signUp(), await h.signUp()];
    const conv = await conversation(t);
    const mine = (await upload(h, "/v1/files", t.token, form("mine"))).body;
    const theirs = (await upload(h, "/v1/files", other.token, form("theirs"))).body;

    const bad = await h.call("POST", `/v1/conversations/${conv}/messages`, { token: t.token, body: { content: "see file", sender_type: "agent", attachment_ids: [mine.id, theirs.id, "file_unknown"] } });
    const e = expectError(bad, 422, "validation_error");
    expect(Object.keys(e.details.fields).sort()).toEqual(["attachment_ids.1", "attachment_ids.2"]);
    expect((await h.call("GET", `/v1/conversations/${conv}/messages`, { token: t.token })).body.data).toEqual([]);

    const ok = await h.call("POST", `/v1/conversations/${conv}/messages`, { token: t.token, body: { content: "see file", sender_type: "agent", attachment_ids: [mine.id] } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.attachment_ids).toEqual([mine.id]);
    const atts = (await h.call("GET", `/v1/conversations/${conv}`, { token: t.token })).body.attachments;
    expect(atts).toMatchObject([{ id: mine.id, message_id: ok.body.id }]);
    // The other workspace's file was not touched.
    expect((await h.call("GET", `/v1/files/${theirs.id}`, { token: other.token })).body.conversation_id).toBeNull();
  });

  it("tenancy: another workspace's conversation and attachments are 404 and absent from lists", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const theirConv = await conversation(theirs);
    const myConv = await conversation(mine);
    const att = (await upload(h, `/v1/conversations/${theirConv}/attachments`, theirs.token, form("private"))).body;
    const theirFile = (await upload(h, "/v1/files", theirs.token, form("loose"))).body;
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/conversations/${theirConv}/attachments` },
      { method: "POST", path: `/v1/conversations/${theirConv}/attachments`, body: { file_id: att.id } },
      { method: "DELETE", path: `/v1/attachments/${att.id}` },
      { method: "GET", path: `/v1/files/${att.id}` },
      { method: "POST", path: `/v1/conversations/${myConv}/attachments`, body: { file_id: theirFile.id }, expect: 422 },
      { list: `/v1/conversations/${myConv}/attachments`, absent: att.id },
    ]);
    expectError(await upload(h, `/v1/conversations/${theirConv}/attachments`, mine.token, form("sneaky")), 404, "not_found");
    // Theirs is untouched.
    expect((await h.call("GET", `/v1/conversations/${theirConv}/attachments`, { token: theirs.token })).body.meta.total).toBe(1);
    expect((await h.call("GET", `/v1/files/${theirFile.id}`, { token: theirs.token })).body.conversation_id).toBeNull();
  });

  it("answers 401 without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/v1/conversations/conv_x/attachments"],
      ["POST", "/v1/conversations/conv_x/attachments"],
      ["DELETE", "/v1/attachments/file_x"],
    ] as const) {
      expectError(await h.call(method, path), 401, "unauthorized");
    }
  });
});

describe("attachments routing", () => {
  it("the registry routes /v1/conversations/{id}/attachments to files; the conversations Worker forwards it through FN_FILES", async () => {
    const { route } = await import("../../functions/registry");
    expect(route("/v1/conversations/conv_1/attachments")?.name).toBe("files");
    expect(route("/v1/conversations/conv_1/messages")?.name).toBe("conversations");
    const { default: worker } = await import("../../functions/conversations/index");
    const seen: string[] = [];
    const FN_FILES = {
      fetch: async (req: Request) => {
        seen.push(`${req.method} ${new URL(req.url).pathname}`);
        return new Response("from files", { status: 299 });
      },
    };
    const ctx = { waitUntil() {}, passThroughOnException() {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request("https://api.parley.example/v1/conversations/conv_1/attachments", { method: "POST", body: "x" }), { FN_FILES } as never, ctx);
    expect(res.status).toBe(299);
    expect(seen).toEqual(["POST /v1/conversations/conv_1/attachments"]);
    const own = await worker.fetch(new Request("https://api.parley.example/v1/conversations/conv_1/messages"), { FN_FILES } as never, ctx);
    expect(own.status).not.toBe(299);
  });
});
