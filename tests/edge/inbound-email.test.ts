// The inbound Worker as deployed, for Mailgun: route forwards (urlencoded and multipart, parsed by
// workerd's own FormData) verified with MAILGUN_WEBHOOK_SIGNING_KEY, a replayed token refused,
// threading, an attachment stored in the FILES R2 bucket, dedupe, and the event webhook, against
// real PostgreSQL and Redis.
import { describe, expect, it } from "vitest";
import { forwardFields } from "../../lib/local/mailgun-inbound";
import { mailgunSignature } from "../../lib/mailgun-signature";
import { edgeOptions } from "../../scripts/wrangler-toml";
import { skipEdge, startWorker, uniqueEmail } from "./support";

const KEY = "edge-mailgun-signing-key";
const host = `https://${edgeOptions().host}`;

describe.skipIf(skipEdge)("Mailgun inbound in workerd", async () => {
  // One JWT secret for the two Workers the sign-up token passes between, as in production.
  const JWT_SECRET = `edge-jwt-${"x".repeat(40)}`;
  const identity = skipEdge ? (undefined as never) : await startWorker("identity", { JWT_SECRET });
  const admin = skipEdge ? (undefined as never) : await startWorker("admin", { JWT_SECRET });
  const inbound = skipEdge ? (undefined as never) : await startWorker("inbound", { MAILGUN_WEBHOOK_SIGNING_KEY: KEY });
  const address = `edge-${Date.now().toString(36)}@mg.acme.example`;

  const forward = async (fields: Record<string, string>, o: { multipart?: boolean; files?: File[]; signature?: Awaited<ReturnType<typeof mailgunSignature>> } = {}) => {
    const sig = o.signature ?? (await mailgunSignature(KEY));
    const all = { ...fields, timestamp: sig.timestamp, token: sig.token, signature: sig.signature };
    let body: string | FormData;
    const headers: Record<string, string> = {};
    if (o.multipart) {
      const form = new FormData();
      for (const [k, v] of Object.entries(all)) form.append(k, v);
      if (o.files?.length) form.append("attachment-count", String(o.files.length));
      for (const [i, f] of (o.files ?? []).entries()) form.append(`attachment-${i + 1}`, f, f.name);
      body = form;
    } else {
      body = new URLSearchParams(all).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    // Through a Request so the multipart body is encoded by Node, then handed to workerd as bytes.
    const req = new Request(`${host}/inbound/mailgun/messages`, { method: "POST", headers, body });
    const res = await inbound.mf.dispatchFetch(req.url, { method: "POST", headers: Object.fromEntries(req.headers), body: new Uint8Array(await req.arrayBuffer()) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), text };
  };

  it("stores a forward, threads the multipart reply, answers a redelivery as a duplicate and refuses a replayed token", async () => {
    const signup = await identity.call("POST", "/v1/workspaces", { body: { name: "Edge Mail", owner: { name: "Owner", email: uniqueEmail("mail"), password: "s3cret-password" } } });
    expect(signup.status, signup.text).toBe(201);
    const ch = await admin.call("POST", "/v1/channels", { token: signup.body.access_token, body: { type: "email", name: "Support", config: { address } } });
    expect(ch.status, ch.text).toBe(201);

    const first = forwardFields({ to: address, from: "alice@customer.example", fromName: "Alice", subject: "Edge order", text: "Hello from workerd" });
    const r1 = await forward(first);
    expect(r1.status, r1.text).toBe(200);
    expect(r1.body).toMatchObject({ duplicate: false, conversation_created: true });

    const reply = forwardFields({ to: address, from: "alice@customer.example", subject: "Re: Edge order", text: "Any news?", quoted: "Hello from workerd", inReplyTo: first["Message-Id"] });
    const sig = await mailgunSignature(KEY);
    const r2 = await forward(reply, { multipart: true, signature: sig, files: [new File(["%PDF-1.4 edge"], "invoice.pdf", { type: "application/pdf" })] });
    expect(r2.status, r2.text).toBe(200);
    expect(r2.body).toMatchObject({ conversation_id: r1.body.conversation_id, conversation_created: false, skipped_attachments: [] });
    // The attachment went to the FILES R2 bucket under the workspace's key.
    expect(r2.body.attachment_ids).toHaveLength(1);
    const bucket = await inbound.mf.getR2Bucket("FILES");
    const stored = await bucket.get(`${signup.body.workspace.id}/${r2.body.attachment_ids[0]}`);
    expect(await stored?.text()).toBe("%PDF-1.4 edge");

    const again = await forward(first);
    expect(again.body).toMatchObject({ duplicate: true, message_id: r1.body.message_id });

    const replayed = await forward(reply, { signature: sig });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toMatchObject({ code: "unauthorized", details: { reason: "token_reused" } });

    const wrong = await forward(first, { signature: await mailgunSignature("not-the-key") });
    expect(wrong.status).toBe(401);
  });

  it("acknowledges an event for an unknown email with 200 and refuses a forged one", async () => {
    const body = { "event-data": { id: `edge-${Date.now()}`, event: "delivered", timestamp: Date.now() / 1000, recipient: "x@customer.example", message: { headers: { "message-id": "unknown@mg.acme.example" } } } };
    const ok = await inbound.call("POST", "/inbound/mailgun/events", { body: { signature: await mailgunSignature(KEY), ...body } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ received: true, matched: false });
    const forged = await inbound.call("POST", "/inbound/mailgun/events", { body: { signature: await mailgunSignature("forged"), ...body } });
    expect(forged.status).toBe(401);
  });
});
