// The SSRF guard on webhook targets: https only, no private/loopback/link-local/metadata
// addresses in any notation or behind a host name, unless private targets are allowed.
import { describe, expect, it } from "vitest";
import { checkTarget, checkUrlSyntax, postOutbound, TargetRefused } from "../../lib/outbound";
import { createHarness, expectError } from "../support/harness";
import { startReceiver } from "./helpers";

const strict = { allowPrivate: false };

describe("SSRF guard", () => {
  it("refuses private, loopback, link-local and metadata targets in every notation", () => {
    for (const url of [
      "http://hooks.example.com/x", // not https
      "https://127.0.0.1/",
      "https://127.1/",
      "https://2130706433/", // decimal 127.0.0.1
      "https://0x7f000001/", // hex
      "https://017700000001/", // octal
      "https://0177.0.0.1/",
      "https://0/",
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://192.168.1.10/",
      "https://100.64.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://[::1]/",
      "https://[::]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[::ffff:7f00:1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://[64:ff9b::a00:1]/", // NAT64 of 10.0.0.1
      "https://[2002:7f00:1::]/", // 6to4 of 127.0.0.1
      "https://[fe80::1]/",
      "https://[fd00::1]/",
      "https://[ff02::1]/",
      "https://localhost/",
      "https://api.localhost/",
      "https://printer.local/",
      "https://metadata.google.internal/",
      "https://intranet/",
      "https://user:pass@hooks.example.com/",
      "not a url",
    ]) {
      expect(() => checkUrlSyntax(url, false), url).toThrow(TargetRefused);
    }
    for (const url of ["https://hooks.example.com/parley", "https://93.184.216.34/x", "https://[2606:4700::1111]/", "https://[::ffff:8.8.8.8]/"]) {
      expect(() => checkUrlSyntax(url, false), url).not.toThrow();
    }
  });

  it("checks every address a host name resolves to", async () => {
    const resolving = (addrs: string[]) => ({ ...strict, resolve: async () => addrs });
    await expect(checkTarget("https://hooks.example.com/", resolving(["93.184.216.34"]))).resolves.toBeInstanceOf(URL);
    await expect(checkTarget("https://hooks.example.com/", resolving(["10.0.0.5"]))).rejects.toThrow(/private/);
    await expect(checkTarget("https://hooks.example.com/", resolving(["93.184.216.34", "127.0.0.1"]))).rejects.toThrow(/private/);
    await expect(checkTarget("https://hooks.example.com/", resolving(["::ffff:169.254.169.254"]))).rejects.toThrow(/private/);
    await expect(checkTarget("https://hooks.example.com/", resolving([]))).rejects.toThrow(/resolve/);
    await expect(checkTarget("https://hooks.example.com/", { ...strict, resolve: async () => Promise.reject(new Error("NXDOMAIN")) })).rejects.toThrow(/resolve/);
  });

  it("allows private http targets only when configured to", async () => {
    await expect(checkTarget("http://127.0.0.1:9/x", { allowPrivate: true })).resolves.toBeInstanceOf(URL);
    await expect(checkTarget("http://127.0.0.1:9/x", strict)).rejects.toThrow(TargetRefused);
  });

  it("times out, does not follow redirects and never throws", async () => {
    const rcv = await startReceiver();
    rcv.plan("/slow", "hang");
    const slow = await postOutbound(`${rcv.url}/slow`, {}, "{}", { allowPrivate: true, timeoutMs: 200 });
    expect(slow).toMatchObject({ status: null, error: "timed out after 200 ms" });
    rcv.plan("/moved", { redirect: `${rcv.url}/target` });
    const moved = await postOutbound(`${rcv.url}/moved`, {}, "{}", { allowPrivate: true });
    expect(moved).toMatchObject({ status: 302, error: "redirects are not followed" });
    expect(rcv.on("/target")).toHaveLength(0);
    const refused = await postOutbound(`${rcv.url}/x`, {}, "{}", strict);
    expect(refused.status).toBeNull();
    expect(refused.error).toMatch(/^target refused/);
    expect(rcv.on("/x")).toHaveLength(0);
  });
});

describe("SSRF guard on /v1/webhooks (WEBHOOKS_ALLOW_PRIVATE_TARGETS=false)", async () => {
  const h = await createHarness({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: "false" });

  it("refuses private targets at creation and update with 422 on url", async () => {
    const t = await h.signUp();
    for (const url of ["http://hooks.example.com/x", "https://127.0.0.1/", "https://2130706433/", "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/", "https://localhost/"]) {
      const e = expectError(await h.call("POST", "/v1/webhooks", { token: t.token, body: { url, events: ["message.created"] } }), 422, "validation_error");
      expect(e.details.fields.url, url).toHaveLength(1);
    }
    // An IP-literal public target needs no DNS and is accepted; it cannot be moved to a private one.
    const ok = await h.call("POST", "/v1/webhooks", { token: t.token, body: { url: "https://93.184.216.34/hook", events: ["message.created"] } });
    expect(ok.status, ok.text).toBe(201);
    const e = expectError(await h.call("PATCH", `/v1/webhooks/${ok.body.id}`, { token: t.token, body: { url: "https://[fd00::1]/" } }), 422, "validation_error");
    expect(Object.keys(e.details.fields)).toEqual(["url"]);
  });
});
