import { describe, expect, it } from "vitest";
import { signedFileUrl } from "../../lib/signed-url";
import { MAX_UPLOAD_BYTES } from "../../lib/storage-quota";
import { workspaces } from "../../schema";
import { files } from "../../schema/files";
import { FileObject, DownloadLink } from "../../functions/files/schemas";
import { eq } from "drizzle-orm";
import { createHarness, expectError } from "../support/harness";
import { agentToken } from "../support/tenancy";
import { fetchLink, form, upload } from "./helpers";

const h = await createHarness();

describe("POST /v1/files", () => {
  it("stores a file and answers its record; GET shows it; the signed link serves its bytes without credentials", async () => {
    const t = await h.signUp();
    const r = await upload(h, "/v1/files", t.token, form("hello, parley", "notes.txt", "text/plain"));
    expect(r.status, r.text).toBe(201);
    FileObject.parse(r.body);
    expect(r.body).toMatchObject({ filename: "notes.txt", size: 13, mime_type: "text/plain", kind: "upload", conversation_id: null });
    expect(r.body.id).toMatch(/^file_/);

    const got = await h.call("GET", `/v1/files/${r.body.id}`, { token: t.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);

    const link = await h.call("GET", `/v1/files/${r.body.id}/download`, { token: t.token });
    expect(link.status).toBe(200);
    DownloadLink.parse(link.body);
    expect(link.body.url).toMatch(/^http:\/\/127\.0\.0\.1:8787\/v1\/files\/file_[0-9a-z]+\/content\?ws=ws_/);
    const ttl = new Date(link.body.expires_at).getTime() - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);

    const bytes = await fetchLink(h, link.body.url);
    expect(bytes.status).toBe(200);
    expect(bytes.text).toBe("hello, parley");
    expect(bytes.headers.get("content-type")).toBe("text/plain");
    expect(bytes.headers.get("x-content-type-options")).toBe("nosniff");
    expect(bytes.headers.get("content-disposition")).toBe(`attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`);
    expect(bytes.headers.get("content-length")).toBe("13");
  });

  it("keeps binary bytes exactly, and makes hostile filenames and content types safe", async () => {
    const t = await h.signUp();
    const bin = new Uint8Array(4096).map((_, i) => (i * 37) & 255);
    const r = await upload(h, "/v1/files", t.token, form(bin, '../../etc/pa"ss\r\nwd;ü.bin', "text/html; charset=utf-8<script>"));
    expect(r.status, r.text).toBe(201);
    expect(r.body.filename).toBe('pa"sswd;ü.bin');
    expect(r.body.mime_type).toBe("text/html");
    const link = (await h.call("GET", `/v1/files/${r.body.id}/download`, { token: t.token })).body;
    const got = await fetchLink(h, link.url);
    expect(got.bytes).toEqual(bin);
    const cd = got.headers.get("content-disposition")!;
    expect(cd).toBe(`attachment; filename="pa_sswd__.bin"; filename*=UTF-8''pa%22sswd%3B%C3%BC.bin`);
    expect(got.headers.get("content-security-policy")).toContain("sandbox");

    const odd = await upload(h, "/v1/files", t.token, form("x", "a.bin", "not a type"));
    expect(odd.body.mime_type).toBe("application/octet-stream");
  });

  it("refuses a file over 25 MiB with 413, and a Content-Length over the limit before reading", async () => {
    const t = await h.signUp();
    const big = new Uint8Array(MAX_UPLOAD_BYTES + 1);
    expectError(await upload(h, "/v1/files", t.token, form(big, "big.bin", "application/octet-stream")), 413, "payload_too_large");
    // Exactly the limit is fine.
    const ok = await upload(h, "/v1/files", t.token, form(new Uint8Array(MAX_UPLOAD_BYTES), "max.bin", "application/octet-stream"));
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.size).toBe(MAX_UPLOAD_BYTES);
    const declared = await h.call("POST", "/v1/files", {
      token: t.token,
      raw: "--x\r\n",
      headers: { "content-type": "multipart/form-data; boundary=x", "content-length": String(MAX_UPLOAD_BYTES * 2) },
    });
    expectError(declared, 413, "payload_too_large");
    expect(await h.services.db.select().from(files).where(eq(files.workspaceId, t.workspaceId))).toHaveLength(1);
  });

  it("refuses uploads past the workspace's storage quota with 413 storage_quota_exceeded", async () => {
    const t = await h.signUp();
    // A file row standing for 1 GiB already stored (the free plan's quota).
    await h.services.db.insert(files).values({ id: `file_quota${Date.now().toString(36)}`, workspaceId: t.workspaceId, filename: "big", size: 1024 * 1024 * 1024 - 10, mimeType: "application/octet-stream", storageKey: `${t.workspaceId}/x` });
    const ok = await upload(h, "/v1/files", t.token, form("0123456789", "fits.txt"));
    expect(ok.status, ok.text).toBe(201);
    const e = expectError(await upload(h, "/v1/files", t.token, form("1", "one-too-many.txt")), 413, "payload_too_large");
    expect(e.details).toMatchObject({ reason: "storage_quota_exceeded", limit_bytes: 1024 * 1024 * 1024, used_bytes: 1024 * 1024 * 1024, file_bytes: 1 });
    // A bigger plan has room.
    await h.services.db.update(workspaces).set({ plan: "pro" }).where(eq(workspaces.id, t.workspaceId));
    expect((await upload(h, "/v1/files", t.token, form("1", "now-fits.txt"))).status).toBe(201);
  });

  it("answers 400 for a body that is not multipart or is malformed, 422 without a file part", async () => {
    const t = await h.signUp();
    expectError(await h.call("POST", "/v1/files", { token: t.token, body: { file: "x" } }), 400, "bad_request");
    expectError(await h.call("POST", "/v1/files", { token: t.token, raw: "garbage", headers: { "content-type": "multipart/form-data; boundary=zzz" } }), 400, "bad_request");
    // No body at all: the `file` part is missing.
    expect(Object.keys(expectError(await h.call("POST", "/v1/files", { token: t.token }), 422, "validation_error").details.fields)).toEqual(["file"]);
    const fd = new FormData();
    fd.append("other", "text");
    const e = expectError(await upload(h, "/v1/files", t.token, fd), 422, "validation_error");
    expect(Object.keys(e.details.fields)).toEqual(["file"]);
    const asText = new FormData();
    asText.append("file", "just a string field");
    expectError(await upload(h, "/v1/files", t.token, asText), 422, "validation_error");
  });
});

describe("signed links", () => {
  async function stored() {
    const t = await h.signUp();
    const f = (await upload(h, "/v1/files", t.token, form("secret bytes"))).body;
    const link = (await h.call("GET", `/v1/files/${f.id}/download`, { token: t.token })).body;
    return { t, f, url: new URL(link.url) };
  }

  it("refuses a tampered signature, file id, workspace or expiry with 401, and a link without a signature", async () => {
    const { f, url } = await stored();
    const other = await stored();
    const variants: string[] = [];
    const withParam = (k: string, v: string) => {
      const u = new URL(url);
      u.searchParams.set(k, v);
      return u.toString();
    };
    const sig = url.searchParams.get("signature")!;
    variants.push(withParam("signature", (sig[0] === "A" ? "B" : "A") + sig.slice(1)));
    variants.push(withParam("expires", String(Number(url.searchParams.get("expires")) + 3600)));
    variants.push(withParam("ws", other.t.workspaceId));
    variants.push(url.toString().replace(f.id, other.f.id));
    const none = new URL(url);
    none.search = "";
    variants.push(none.toString());
    variants.push(withParam("signature", "short"));
    for (const v of variants) {
      const r = await fetchLink(h, v);
      expect(r.status, v).toBe(401);
      expect(JSON.parse(r.text).error.code).toBe("unauthorized");
      expect(r.text).not.toContain("secret bytes");
    }
    // The original still works.
    expect((await fetchLink(h, url.toString())).text).toBe("secret bytes");
  });

  it("refuses an expired link with 401, even though its signature is right", async () => {
    const { t, f } = await stored();
    const past = await signedFileUrl({ secret: h.services.config.filesSigningKey!, baseUrl: h.services.config.publicBaseUrl! }, { id: f.id, workspaceId: t.workspaceId }, 60, Date.now() - 61_000);
    const r = await fetchLink(h, past.url);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.text).error.message).toMatch(/expired/);
    const fresh = await signedFileUrl({ secret: h.services.config.filesSigningKey!, baseUrl: h.services.config.publicBaseUrl! }, { id: f.id, workspaceId: t.workspaceId }, 60);
    expect((await fetchLink(h, fresh.url)).status).toBe(200);
  });

  it("a link signed with another key is refused", async () => {
    const { t, f } = await stored();
    const forged = await signedFileUrl({ secret: "not-the-key", baseUrl: h.services.config.publicBaseUrl! }, { id: f.id, workspaceId: t.workspaceId });
    expect((await fetchLink(h, forged.url)).status).toBe(401);
  });
});

describe("files: auth and tenancy", () => {
  it("answers 401 without credentials on every route but the signed content", async () => {
    for (const [method, path] of [
      ["POST", "/v1/files"],
      ["GET", "/v1/files/file_x"],
      ["GET", "/v1/files/file_x/download"],
    ] as const) {
      expectError(await h.call(method, path), 401, "unauthorized");
    }
  });

  it("another workspace's file is 404 on get and download", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const f = (await upload(h, "/v1/files", theirs.token, form("theirs"))).body;
    expectError(await h.call("GET", `/v1/files/${f.id}`, { token: mine.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/files/${f.id}/download`, { token: mine.token }), 404, "not_found");
  });

  it("a read-only API key may read files but not upload (403)", async () => {
    const t = await h.signUp();
    const key = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "ro", scopes: ["read"] } });
    expect(key.status, key.text).toBe(201);
    expectError(await upload(h, "/v1/files", undefined, form("x"), { "x-api-key": key.body.key }), 403, "forbidden");
    const f = (await upload(h, "/v1/files", t.token, form("x"))).body;
    expect((await h.call("GET", `/v1/files/${f.id}`, { headers: { "x-api-key": key.body.key } })).status).toBe(200);
    // Any agent of the workspace may upload.
    const agent = await agentToken(h, t, "agent");
    expect((await upload(h, "/v1/files", agent.token, form("y"))).status).toBe(201);
  });
});
