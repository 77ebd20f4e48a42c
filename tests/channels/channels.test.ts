import { describe, expect, it } from "vitest";
import { Channel } from "../../functions/admin/channels.schemas";
import { createHarness, expectError, unique } from "../support/harness";
import { agentToken, expectInvisible } from "../support/tenancy";

const h = await createHarness();

const address = () => `${unique("support")}@mg.acme.example`;
const phoneId = () => String(Math.floor(1e14 + Math.random() * 9e14));

describe("channels: CRUD", () => {
  it("creates, lists, gets, updates and deletes an email channel; secrets are write-only", async () => {
    const t = await h.signUp();
    const addr = address();
    const KEY = `key-${unique("mgkey")}`;
    const SIGN = `sign-${unique("signing")}`;
    const seen: string[] = [];
    const created = await h.call("POST", "/v1/channels", {
      token: t.token,
      body: { type: "email", name: "Support", config: { address: addr.toUpperCase(), from_name: "Acme Support", mailgun_domain: "MG.Acme.Example", mailgun_api_key: KEY, webhook_signing_key: SIGN } },
    });
    seen.push(created.text);
    expect(created.status, created.text).toBe(201);
    expect(Channel.safeParse(created.body).success).toBe(true);
    expect(created.body).toMatchObject({
      type: "email",
      name: "Support",
      config: { address: addr, from_name: "Acme Support", mailgun_domain: "mg.acme.example" },
      secrets_set: { mailgun_api_key: true, webhook_signing_key: true },
      status: "active",
      status_reason: null,
    });
    expect(created.body.id).toMatch(/^ch_/);
    expect(created.body.inbound_url).toMatch(/\/inbound\/mailgun\/messages$/);
    expect(created.body.config).not.toHaveProperty("mailgun_api_key");

    const id = created.body.id;
    const got = await h.call("GET", `/v1/channels/${id}`, { token: t.token });
    seen.push(got.text);
    expect(got.body).toEqual(created.body);

    const list = await h.call("GET", "/v1/channels?type=email", { token: t.token });
    seen.push(list.text);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
    expect(list.body.meta.total).toBe(1);
    expect((await h.call("GET", "/v1/channels?type=whatsapp", { token: t.token })).body.data).toEqual([]);

    // Merge: name changes, from_name kept, the signing key removed by null.
    const patched = await h.call("PATCH", `/v1/channels/${id}`, { token: t.token, body: { name: "Support EU", config: { webhook_signing_key: null, from_address: "Help@Acme.Example" } } });
    seen.push(patched.text);
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({
      name: "Support EU",
      config: { address: addr, from_name: "Acme Support", from_address: "help@acme.example" },
      secrets_set: { mailgun_api_key: true, webhook_signing_key: false },
    });

    for (const text of seen) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(SIGN);
    }
    // Stored where the delivery code reads them.
    const row = await h.services.db.query.channels.findFirst({ where: (c, { eq }) => eq(c.id, id) });
    expect(row?.secrets).toEqual({ mailgun_api_key: KEY });
    expect(row?.inboundKey).toBe(addr);

    const del = await h.call("DELETE", `/v1/channels/${id}`, { token: t.token });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ deleted: true, id });
    expectError(await h.call("GET", `/v1/channels/${id}`, { token: t.token }), 404, "not_found");
    expectError(await h.call("DELETE", `/v1/channels/${id}`, { token: t.token }), 404, "not_found");
  });

  it("creates whatsapp, web and api channels with their own config", async () => {
    const t = await h.signUp();
    const TOKEN = `EAAG${unique("token")}`;
    const APP = `app-${unique("secret")}`;
    const pid = phoneId();
    const wa = await h.call("POST", "/v1/channels", {
      token: t.token,
      body: { type: "whatsapp", name: "WhatsApp", config: { phone_number_id: pid, access_token: TOKEN, business_account_id: "102290129340398", app_secret: APP, verify_token: "vt-1" } },
    });
    expect(wa.status, wa.text).toBe(201);
    expect(wa.body).toMatchObject({ config: { phone_number_id: pid, business_account_id: "102290129340398", verify_token: "vt-1" }, secrets_set: { access_token: true, app_secret: true } });
    expect(wa.body.inbound_url).toMatch(/\/inbound\/whatsapp$/);
    expect(wa.text).not.toContain(TOKEN);
    expect(wa.text).not.toContain(APP);

    const web = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "web", name: "Site", config: { website_url: "https://acme.example" } } });
    expect(web.status, web.text).toBe(201);
    expect(web.body).toMatchObject({ type: "web", config: { website_url: "https://acme.example" }, secrets_set: {}, inbound_url: null });
    const api = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "api", name: "Portal", config: {} } });
    expect(api.status, api.text).toBe(201);

    // Renaming alone leaves an error status; rotating the token clears it (the admin fixed it).
    await h.services.db.execute(`update channels set status = 'error', status_reason = 'token expired' where id = '${wa.body.id}'`);
    const renamed = await h.call("PATCH", `/v1/channels/${wa.body.id}`, { token: t.token, body: { name: "WhatsApp" } });
    expect(renamed.body).toMatchObject({ status: "error", status_reason: "token expired" });
    const rotated = await h.call("PATCH", `/v1/channels/${wa.body.id}`, { token: t.token, body: { config: { access_token: `${TOKEN}-2` } } });
    expect(rotated.body).toMatchObject({ status: "active", status_reason: null, secrets_set: { access_token: true, app_secret: true } });
    expect(rotated.text).not.toContain(TOKEN);

    const all = await h.call("GET", "/v1/channels?sort=name", { token: t.token });
    expect(all.body.data.map((c: { name: string }) => c.name)).toEqual(["Portal", "Site", "WhatsApp"]);
    expect(all.text).not.toContain(TOKEN);
  });

  it("the inbound address and phone number id are unique across Parley (409, without naming the owner)", async () => {
    const [a, b] = [await h.signUp(), await h.signUp()];
    const addr = address();
    const first = await h.call("POST", "/v1/channels", { token: a.token, body: { type: "email", name: "A", config: { address: addr } } });
    expect(first.status).toBe(201);
    const err = expectError(await h.call("POST", "/v1/channels", { token: b.token, body: { type: "email", name: "B", config: { address: addr.toUpperCase() } } }), 409, "conflict");
    expect(err.details.fields["config.address"]).toBeDefined();
    expect(JSON.stringify(err)).not.toContain(first.body.id);
    expect(JSON.stringify(err)).not.toContain(a.workspaceId);
    // Same workspace too.
    expectError(await h.call("POST", "/v1/channels", { token: a.token, body: { type: "email", name: "A2", config: { address: addr } } }), 409, "conflict");

    const pid = phoneId();
    expect((await h.call("POST", "/v1/channels", { token: a.token, body: { type: "whatsapp", name: "W", config: { phone_number_id: pid, access_token: "t" } } })).status).toBe(201);
    expectError(await h.call("POST", "/v1/channels", { token: b.token, body: { type: "whatsapp", name: "W", config: { phone_number_id: pid, access_token: "t" } } }), 409, "conflict");

    // Changing to a taken address is 409 too; keeping one's own address is fine.
    const other = await h.call("POST", "/v1/channels", { token: b.token, body: { type: "email", name: "B", config: { address: address() } } });
    expectError(await h.call("PATCH", `/v1/channels/${other.body.id}`, { token: b.token, body: { config: { address: addr } } }), 409, "conflict");
    const same = await h.call("PATCH", `/v1/channels/${first.body.id}`, { token: a.token, body: { config: { address: addr, from_name: "x" } } });
    expect(same.status, same.text).toBe(200);
    // A deleted channel frees its address.
    await h.call("DELETE", `/v1/channels/${first.body.id}`, { token: a.token });
    expect((await h.call("POST", "/v1/channels", { token: b.token, body: { type: "email", name: "B2", config: { address: addr } } })).status).toBe(201);
  });

  it("deleting a channel keeps its conversations", async () => {
    const t = await h.signUp();
    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "A", config: { address: address() } } });
    const conv = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "Hello", source: "email", channel_id: ch.body.id } });
    expect(conv.status, conv.text).toBe(201);
    await h.call("DELETE", `/v1/channels/${ch.body.id}`, { token: t.token });
    const still = await h.call("GET", `/v1/conversations/${conv.body.id}`, { token: t.token });
    expect(still.status).toBe(200);
    expect(still.body).toMatchObject({ channel_id: ch.body.id, source: "email" });
  });
});

describe("channels: validation", () => {
  it("validates config per type and lists every problem", async () => {
    const t = await h.signUp();
    const bad = async (body: unknown) => expectError(await h.call("POST", "/v1/channels", { token: t.token, body }), 422, "validation_error").details.fields as Record<string, string[]>;
    expect(Object.keys(await bad({ type: "email", name: "x", config: {} }))).toContain("config.address");
    expect(Object.keys(await bad({ type: "email", name: "x", config: { address: "not an email" } }))).toContain("config.address");
    // Unknown fields are refused, so a misspelt secret is never silently dropped.
    const unknownKey = await bad({ type: "email", name: "x", config: { address: address(), mailgun_apikey: "k" } });
    expect(JSON.stringify(unknownKey)).toContain("mailgun_apikey");
    expect(Object.keys(await bad({ type: "email", name: "x", config: { address: address(), mailgun_domain: "mg.acme.example" } }))).toContain("config.mailgun_api_key");
    expect(Object.keys(await bad({ type: "whatsapp", name: "x", config: { phone_number_id: "12ab" } }))).toEqual(expect.arrayContaining(["config.phone_number_id", "config.access_token"]));
    expect(Object.keys(await bad({ type: "fax", name: "x", config: {} }))).toContain("type");
    expect(Object.keys(await bad({ type: "web", name: "", config: { website_url: "javascript:alert(1)" } }))).toEqual(expect.arrayContaining(["name", "config.website_url"]));
    expect(Object.keys(await bad({ type: "api", name: "a\u0000b", config: {} }))).toContain("name");
    expect(Object.keys(await bad({ type: "email", name: "x", config: { address: address(), from_name: "a\u0000" } }))).toContain("config.from_name");
    expect(Object.keys(await bad({ type: "email", name: "x", config: "nope" }))).toContain("config");
    expectError(await h.call("POST", "/v1/channels", { token: t.token, raw: "{not json", headers: { "content-type": "application/json" } }), 400, "bad_request");

    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "email", name: "A", config: { address: address() } } });
    const patchBad = async (body: unknown) => expectError(await h.call("PATCH", `/v1/channels/${ch.body.id}`, { token: t.token, body }), 422, "validation_error").details.fields as Record<string, string[]>;
    expect(Object.keys(await patchBad({ config: { address: null } }))).toContain("config.address");
    expect(Object.keys(await patchBad({ config: { phone_number_id: "1" } }))).toContain("config");
    expect(Object.keys(await patchBad({ config: { from_address: 42 } }))).toContain("config.from_address");
    expect(Object.keys(await patchBad({ config: { mailgun_api_key: "k" } }))).toContain("config.mailgun_domain");
    expectError(await h.call("GET", "/v1/channels?sort=secrets", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/channels?type=fax", { token: t.token }), 400, "bad_request");
  });
});

describe("channels: security", () => {
  it("answers 401 without credentials", async () => {
    for (const [method, path] of [
      ["GET", "/v1/channels"],
      ["POST", "/v1/channels"],
      ["GET", "/v1/channels/ch_x"],
      ["PATCH", "/v1/channels/ch_x"],
      ["DELETE", "/v1/channels/ch_x"],
    ] as const) {
      expectError(await h.call(method, path, { body: method === "POST" || method === "PATCH" ? { name: "x" } : undefined }), 401, "unauthorized");
    }
  });

  it("is admin-only: agents and API keys without the admin scope get 403; admin keys work", async () => {
    const t = await h.signUp();
    const ch = await h.call("POST", "/v1/channels", { token: t.token, body: { type: "api", name: "A", config: {} } });
    const agent = await agentToken(h, t, "agent");
    const admin = await agentToken(h, t, "admin");
    for (const [method, path, body] of [
      ["GET", "/v1/channels", undefined],
      ["POST", "/v1/channels", { type: "api", name: "B", config: {} }],
      ["GET", `/v1/channels/${ch.body.id}`, undefined],
      ["PATCH", `/v1/channels/${ch.body.id}`, { name: "C" }],
      ["DELETE", `/v1/channels/${ch.body.id}`, undefined],
    ] as const) {
      expectError(await h.call(method, path, { token: agent.token, body }), 403, "forbidden");
    }
    const rwKey = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "rw", scopes: ["read", "write"] } });
    expectError(await h.call("GET", "/v1/channels", { headers: { "x-api-key": rwKey.body.key } }), 403, "forbidden");
    const adminKey = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "adm", scopes: ["read", "write", "admin"] } });
    expect((await h.call("GET", "/v1/channels", { headers: { "x-api-key": adminKey.body.key } })).status).toBe(200);
    expect((await h.call("PATCH", `/v1/channels/${ch.body.id}`, { token: admin.token, body: { name: "By admin" } })).body.name).toBe("By admin");
  });

  it("another workspace's channels are 404 and absent from lists", async () => {
    const [mine, theirs] = [await h.signUp(), await h.signUp()];
    const theirCh = await h.call("POST", "/v1/channels", { token: theirs.token, body: { type: "email", name: "Theirs", config: { address: address(), mailgun_domain: "mg.theirs.example", mailgun_api_key: "key-theirs" } } });
    await expectInvisible(h, mine, [
      { method: "GET", path: `/v1/channels/${theirCh.body.id}` },
      { method: "PATCH", path: `/v1/channels/${theirCh.body.id}`, body: { name: "mine now" } },
      { method: "PATCH", path: `/v1/channels/${theirCh.body.id}`, body: { config: { from_name: "mine now" } } },
      { method: "DELETE", path: `/v1/channels/${theirCh.body.id}` },
      { list: "/v1/channels?per_page=100", absent: theirCh.body.id },
    ]);
    const still = await h.call("GET", `/v1/channels/${theirCh.body.id}`, { token: theirs.token });
    expect(still.body).toMatchObject({ name: "Theirs", secrets_set: { mailgun_api_key: true } });
  });
});
