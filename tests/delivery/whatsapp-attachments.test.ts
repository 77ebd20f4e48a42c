// WhatsApp attachments: an agent message's files go to Graph as media messages (one per file,
// by `link`: a signed download URL valid 24 h), the text as the first one's caption (or a text
// message of its own before an audio), documents with their filename; the wamids are kept in the
// message's metadata, so a job retried after a failure mid-way sends only what is left.
import { describe, expect, it } from "vitest";
import { mediaKindOf, planParts } from "../../lib/delivery/whatsapp";
import { linkFor } from "../../lib/files";
import { LocalGraph } from "../../lib/local/whatsapp-graph";
import { sendWhatsApp } from "../../lib/whatsapp";
import { eventually } from "../jobs/helpers";
import { newId } from "../../lib/ids";
import { messages } from "../../schema";
import type { files } from "../../schema";
import { fetchLink, form, upload } from "../files/helpers";
import { createHarness, expectError, type Harness, type Tenant } from "../support/harness";
import { addChannel, messageByWamid, platformSecret, postWebhook, retarget, type TestChannel, waId, wamidOf } from "../whatsapp/helpers";
import * as meta from "../whatsapp/meta-samples";
import { deliverJob, messageRow, settled } from "./helpers";

const h = await createHarness();
const graph = h.services.graph!;

async function customerWrites(h: Harness, t: Tenant, ch: TestChannel) {
  const sender = waId();
  const payload = retarget(meta.textMessage(String(Math.floor((Date.now() - 60_000) / 1000))), ch.phoneNumberId, sender);
  await postWebhook(h, payload, platformSecret(h));
  const m = await messageByWamid(h, t.workspaceId, wamidOf(payload));
  return { conversationId: m!.conversationId, sender };
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const MP3 = new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 9]);
const PDF = new TextEncoder().encode("%PDF-1.4\n% invoice 1042\n");

async function uploadFile(t: Tenant, bytes: Uint8Array, filename: string, type: string): Promise<string> {
  const r = await upload(h, "/v1/files", t.token, form(bytes, filename, type));
  if (r.status !== 201) throw new Error(`upload: ${r.status} ${r.text}`);
  return r.body.id;
}

const send = (t: Tenant, conversationId: string, body: Record<string, unknown>) =>
  h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { sender_type: "agent", ...body } });

/** The `expires` of a signed link, in seconds from now. */
const expiresIn = (link: string) => Number(new URL(link).searchParams.get("expires")) - Date.now() / 1000;

describe("an agent message with attachments on a WhatsApp conversation", () => {
  it("is sent as one Graph media message per file by signed link: caption on the first, filename on documents, no caption on audio", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId, sender } = await customerWrites(h, t, ch);
    const png = await uploadFile(t, PNG, "shoe.png", "image/png");
    const mp3 = await uploadFile(t, MP3, "note.mp3", "audio/mpeg");
    const pdf = await uploadFile(t, PDF, "invoice-1042.pdf", "application/pdf");
    const r = await send(t, conversationId, { content: "Here is the blue one, a voice note and your invoice.", attachment_ids: [png, mp3, pdf] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ delivery_status: "queued", attachment_ids: [png, mp3, pdf] });
    await settled(h, t.workspaceId);

    const sends = graph.sentFrom(ch.phoneNumberId);
    expect(sends.map((s) => s.body.type)).toEqual(["image", "audio", "document"]);
    for (const s of sends) expect(s.body).toMatchObject({ messaging_product: "whatsapp", recipient_type: "individual", to: sender });
    expect(Object.keys(sends[0]!.body.image).sort()).toEqual(["caption", "link"]);
    expect(sends[0]!.body.image.caption).toBe("Here is the blue one, a voice note and your invoice.");
    expect(Object.keys(sends[1]!.body.audio)).toEqual(["link"]);
    expect(sends[2]!.body.document).toEqual({ link: expect.any(String), filename: "invoice-1042.pdf" });
    // Each link serves the file's bytes without credentials, for 24 hours.
    const links = [sends[0]!.body.image.link, sends[1]!.body.audio.link, sends[2]!.body.document.link] as string[];
    for (const [i, bytes] of [PNG, MP3, PDF].entries()) {
      const got = await fetchLink(h, links[i]!);
      expect(got.status).toBe(200);
      expect(got.bytes).toEqual(bytes);
      expect(expiresIn(links[i]!)).toBeGreaterThan(24 * 3600 - 120);
      expect(expiresIn(links[i]!)).toBeLessThanOrEqual(24 * 3600);
    }

    const row = await messageRow(h, r.body.id);
    expect(row).toMatchObject({ deliveryStatus: "sent", externalId: sends[0]!.wamid });
    expect((row.metadata.whatsapp as { sent: unknown }).sent).toEqual([
      { part: `file:${png}`, wamid: sends[0]!.wamid },
      { part: `file:${mp3}`, wamid: sends[1]!.wamid },
      { part: `file:${pdf}`, wamid: sends[2]!.wamid },
    ]);
    // A redelivery sends nothing again.
    expect((await deliverJob(h, { workspace_id: t.workspaceId, message_id: r.body.id }, `delivery:${r.body.id}`)).status).toBe(200);
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(3);
  });

  it("an audio first (no caption) or a text longer than a caption goes as a text message of its own, first", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const mp3 = await uploadFile(t, MP3, "note.mp3", "audio/mpeg");
    const png = await uploadFile(t, PNG, "shoe.png", "image/png");
    const a = await send(t, conversationId, { content: "Listen to this.", attachment_ids: [mp3] });
    await settled(h, t.workspaceId);
    const long = "x".repeat(1500);
    const b = await send(t, conversationId, { content: long, attachment_ids: [png] });
    await settled(h, t.workspaceId);
    const sends = graph.sentFrom(ch.phoneNumberId);
    expect(sends.map((s) => s.body.type)).toEqual(["text", "audio", "text", "image"]);
    expect(sends[0]!.body.text.body).toBe("Listen to this.");
    expect(sends[1]!.body.audio).toEqual({ link: expect.any(String) });
    expect(sends[2]!.body.text.body).toBe(long);
    expect(sends[3]!.body.image).toEqual({ link: expect.any(String) });
    expect(await messageRow(h, a.body.id)).toMatchObject({ deliveryStatus: "sent", externalId: sends[0]!.wamid });
    expect(await messageRow(h, b.body.id)).toMatchObject({ deliveryStatus: "sent", externalId: sends[2]!.wamid });
  });

  it("a failure mid-way (Graph 503 on the second file) keeps what was sent; the retried job sends only the rest", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const ids = [await uploadFile(t, PNG, "a.png", "image/png"), await uploadFile(t, PDF, "b.pdf", "application/pdf"), await uploadFile(t, MP3, "c.mp3", "audio/mpeg")];
    // Written directly: the test delivers it by hand, as QStash would.
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId, senderType: "agent", content: "Three files.", source: "api", status: "queued", deliveryStatus: "queued", attachmentIds: ids });
    const payload = { workspace_id: t.workspaceId, message_id: id };
    graph.failNext({ status: 200 }, { status: 503 });
    expect((await deliverJob(h, payload, `delivery:${id}`, 0)).status).toBe(503);
    const mid = await messageRow(h, id);
    expect(mid.deliveryStatus).toBe("queued");
    const first = graph.sentFrom(ch.phoneNumberId);
    expect(first.map((s) => s.body.type)).toEqual(["image"]);
    expect((mid.metadata.whatsapp as { sent: unknown }).sent).toEqual([{ part: `file:${ids[0]}`, wamid: first[0]!.wamid }]);

    const retry = await deliverJob(h, payload, `delivery:${id}`, 1);
    expect(retry.status).toBe(200);
    const sends = graph.sentFrom(ch.phoneNumberId);
    expect(sends.map((s) => s.body.type)).toEqual(["image", "document", "audio"]);
    expect(sends[0]!.body.image.caption).toBe("Three files.");
    const row = await messageRow(h, id);
    expect(row).toMatchObject({ deliveryStatus: "sent", externalId: first[0]!.wamid });
    expect((row.metadata.whatsapp as { sent: Array<{ wamid: string }> }).sent.map((p) => p.wamid)).toEqual(sends.map((s) => s.wamid));
    // Once more (the sweep, a duplicate delivery): nothing is sent again.
    await deliverJob(h, payload);
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(3);
  });

  it("a Graph refusal mid-way fails the message and says how many parts had gone", async () => {
    const t = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const ids = [await uploadFile(t, PNG, "a.png", "image/png"), await uploadFile(t, PDF, "b.pdf", "application/pdf")];
    graph.failNext({ status: 200 }, { status: 400, code: 131026 });
    const r = await send(t, conversationId, { content: "Two files.", attachment_ids: ids });
    await settled(h, t.workspaceId);
    const row = await messageRow(h, r.body.id);
    expect(row.deliveryStatus).toBe("failed");
    expect(row.deliveryError).toMatchObject({ code: "undeliverable" });
    expect(row.deliveryError!.message).toContain("1 of 2 parts had been sent");
  });

  it("another workspace's file id is refused at creation (422 naming its position); a template with attachments too", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const ch = await addChannel(h, t);
    const { conversationId } = await customerWrites(h, t, ch);
    const theirs = await uploadFile(other, PDF, "secret.pdf", "application/pdf");
    const mine = await uploadFile(t, PNG, "mine.png", "image/png");
    const r = await send(t, conversationId, { content: "sneaky", attachment_ids: [mine, theirs] });
    const err = expectError(r, 422, "validation_error");
    expect(Object.keys(err.details.fields)).toEqual(["attachment_ids.1"]);
    const tpl = await send(t, conversationId, { template: { name: "order_update", language: "en_US" }, attachment_ids: [mine] });
    expect(Object.keys(expectError(tpl, 422, "validation_error").details.fields)).toEqual(["attachment_ids"]);
    const list = await h.call("GET", `/v1/conversations/${conversationId}/messages`, { token: t.token });
    expect(list.body.data.filter((m: { sender_type: string }) => m.sender_type === "agent")).toHaveLength(0);
    await settled(h, t.workspaceId);
    expect(graph.sentFrom(ch.phoneNumberId)).toHaveLength(0);
  });
});

describe("the Graph stand-in refuses media payloads as Graph does", () => {
  const post = (pnid: string, body: unknown) =>
    fetch(`${graph.url}/v21.0/${pnid}/messages`, { method: "POST", headers: { authorization: "Bearer EAAGtest", "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const base = { messaging_product: "whatsapp", recipient_type: "individual", to: "16505551234" };

  it("a caption on audio, a filename on an image, both id and link, or neither: (#100)", async () => {
    const pnid = `1065${Date.now()}`;
    for (const [type, media, message] of [
      ["audio", { link: "https://example.com/a.mp3", caption: "hi" }, 'Unexpected key "caption" on param "audio"'],
      ["image", { link: "https://example.com/a.png", filename: "a.png" }, 'Unexpected key "filename" on param "image"'],
      ["document", { link: "https://example.com/a.pdf", id: "1013859600285441" }, "exactly one of id or link"],
      ["video", { caption: "no media" }, "exactly one of id or link"],
      ["image", { link: "not a url" }, "valid URL"],
    ] as const) {
      const r = await post(pnid, { ...base, type, [type]: media });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 100, type: "OAuthException" });
      expect(r.body.error.message).toContain(message);
    }
    const ok = await post(pnid, { ...base, type: "document", document: { link: "https://example.com/a.pdf", caption: "Invoice", filename: "a.pdf" } });
    expect(ok.status).toBe(200);
    expect(ok.body.messages[0].id).toMatch(/^wamid\./);
  });
});

describe("the Graph stand-in downloads linked media as Graph does (local server: automatic statuses)", () => {
  it("a link that serves the file: sent, delivered; one that does not: failed with 131053", async () => {
    const t = await h.signUp();
    const fileId = await uploadFile(t, PNG, "shoe.png", "image/png");
    const posted: Array<{ status: string; errors?: Array<{ code: number }> }> = [];
    const local = await LocalGraph.start({
      secretFor: () => "app-secret",
      webhookUrl: () => `${h.services.config.publicBaseUrl}/inbound/whatsapp`,
      deliver: async (req) => {
        const body = (await req.json()) as any;
        posted.push(body.entry[0].changes[0].value.statuses[0]);
        return new Response("{}", { status: 200 });
      },
      autoStatuses: ["sent", "delivered"],
      autoStatusDelayMs: 5,
      fetchMedia: (url) => h.dispatch(new Request(url)),
    });
    try {
      const good = (await linkFor(h.services, { id: fileId, workspaceId: t.workspaceId }, 24 * 3600)).url;
      const bad = good.replace(/signature=[^&]+/, `signature=${"A".repeat(43)}`);
      const args = { graphUrl: local.url, phoneNumberId: "106540352242922", accessToken: "EAAGtest", to: "16505551234" };
      const ok = await sendWhatsApp({ ...args, message: { type: "media", kind: "image", link: good } });
      await eventually(() => posted.length === 2);
      expect(ok.kind).toBe("sent");
      expect(posted.map((p) => p.status)).toEqual(["sent", "delivered"]);
      posted.length = 0;
      const broken = await sendWhatsApp({ ...args, message: { type: "media", kind: "image", link: bad } });
      expect(broken.kind).toBe("sent");
      await eventually(() => posted.length === 1);
      await new Promise((r) => setTimeout(r, 30));
      expect(posted).toHaveLength(1);
      expect(posted[0]).toMatchObject({ status: "failed", errors: [{ code: 131053 }] });
    } finally {
      await local.close();
    }
  });
});

describe("media types", () => {
  type File = typeof files.$inferSelect;
  const file = (id: string, mimeType: string, size = 1000, filename = `${id}.bin`) => ({ id, mimeType, size, filename }) as File;

  it("image/video/audio when Graph takes the type and size, else a document", () => {
    expect(mediaKindOf("image/jpeg", 1000)).toBe("image");
    expect(mediaKindOf("image/png", 6 * 1024 * 1024)).toBe("document");
    expect(mediaKindOf("image/webp", 1000)).toBe("document");
    expect(mediaKindOf("video/mp4", 1000)).toBe("video");
    expect(mediaKindOf("video/quicktime", 1000)).toBe("document");
    expect(mediaKindOf("audio/ogg; codecs=opus", 1000)).toBe("audio");
    expect(mediaKindOf("AUDIO/MPEG", 17 * 1024 * 1024)).toBe("document");
    expect(mediaKindOf("application/pdf", 1000)).toBe("document");
  });

  it("plans the text as the first caption, or as its own first message", () => {
    expect(planParts("hi", [file("a", "image/png"), file("b", "application/pdf", 10, "b.pdf")]).map((p) => p.message)).toEqual([
      { type: "media", kind: "image", caption: "hi" },
      { type: "media", kind: "document", filename: "b.pdf" },
    ]);
    expect(planParts("hi", [file("a", "audio/aac")]).map((p) => p.key)).toEqual(["text", "file:a"]);
    expect(planParts("  ", [file("a", "video/mp4")]).map((p) => p.message)).toEqual([{ type: "media", kind: "video" }]);
    expect(planParts("just text", [])).toEqual([{ key: "text", message: { type: "text", text: "just text" } }]);
  });
});
