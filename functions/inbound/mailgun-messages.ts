// POST /inbound/mailgun/messages: what a Mailgun route's forward("https://<host>/inbound/mailgun/messages")
// posts for each received email (urlencoded, or multipart when it has attachments). The signature
// travels in the form (timestamp, token, signature), so the form is read first, then verified with
// the recipient channel's webhook signing key (or the platform's) before anything is stored.
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { ApiError, ErrorSchema, errorBody, errorResponses } from "../../lib/errors";
import { sha256Hex } from "../../lib/ids";
import { parseMailgunSignature } from "../../lib/mailgun-signature";
import { jsonContent } from "../../lib/openapi";
import { bareMessageId, cleanLine, cleanText, messageIds, parseAddress, parseAddressList, parseHeaderList, stripQuoted } from "./mailgun-parse";
import { emailChannels, type InboundEmail, storeInboundEmail } from "./mailgun.service";
import { requireSignature, signatureError, signingKeyOf } from "./mailgun-verify";

/** The largest route forward accepted: room for a 25 MiB attachment and the text parts around it. */
export const MAILGUN_FORWARD_LIMIT = 40 * 1024 * 1024;
/** Attachments read from one email at most; more are skipped and noted. */
const MAX_ATTACHMENTS = 50;
const MAX_CONTENT = 100_000;

const TAGS = ["Inbound webhooks"];

const Text = (description: string, example?: string) => z.string().optional().openapi({ description, ...(example !== undefined ? { example } : {}) });

const ForwardForm = z
  .object({
    timestamp: z.string().openapi({ description: "Seconds since the epoch; within 5 minutes of now.", example: "1764936000" }),
    token: z.string().openapi({ description: "Random, 50 characters; each token is accepted once.", example: "06c96bafc3f42a66b9edd546347a2fe18dc23461fe80dc52f0" }),
    signature: z.string().openapi({ description: "Hex HMAC-SHA256 of timestamp + token with the webhook signing key.", example: "5b4e1f0c7a3d9e2b8c6f1a0d4e7b2c9f5a8d3e6b1c4f7a0d2e5b8c1f4a7d0e3b" }),
    recipient: z.string().openapi({ description: "The envelope recipient (RCPT TO): picks the email channel by its address.", example: "support@mg.acme.example" }),
    sender: Text("The envelope sender (MAIL FROM).", "bob@customer.example"),
    from: Text("The From header: the contact is found or created by its address (else by `sender`).", '"Bob Lee" <bob@customer.example>'),
    subject: Text("Subject: the title of a new conversation.", "Order 1042 never arrived"),
    "body-plain": Text("The text body (with any quoted history).", "Hi, my order has not arrived.\n\nOn Mon, Dec 1, 2026 at 9:00 AM Acme Support <support@mg.acme.example> wrote:\n> Thanks for your order!"),
    "stripped-text": Text("The text body without quoted parts and signature (preferred as the message content).", "Hi, my order has not arrived."),
    "stripped-signature": Text("The signature Mailgun separated.", "Bob"),
    "body-html": Text("The HTML body."),
    "stripped-html": Text("The HTML body without quoted parts."),
    "Message-Id": Text("Deduplicates: an email already stored answers 200 and stores nothing.", "<CAEPk3R+4Zr@mail.customer.example>"),
    "In-Reply-To": Text("Threads the email into the conversation of the message it answers.", "<20261201090000.1.AB12CD34EF56@mg.acme.example>"),
    References: Text("Thread ids, tried newest first after In-Reply-To.", "<20261201090000.1.AB12CD34EF56@mg.acme.example>"),
    "message-headers": Text('All MIME headers as a JSON list of [name, value] pairs (read when a header field is absent).', '[["Message-Id","<CAEPk3R+4Zr@mail.customer.example>"]]'),
    "attachment-count": Text("How many attachment-N parts follow (multipart only).", "1"),
    "attachment-1": z.custom<File>().optional().openapi({ type: "string", format: "binary", description: "An attachment (attachment-1 … attachment-N): stored as a file of kind `inbound` when at most 25 MiB and within the workspace's storage quota; else skipped and listed in the message's `metadata.email.skipped_attachments`." }),
  })
  .openapi("MailgunRouteForward");

const Skipped = z
  .object({
    filename: z.string(),
    size: z.number().int(),
    reason: z.enum(["too_large", "storage_quota_exceeded", "not_a_file"]),
  })
  .openapi("SkippedAttachment");

const Ack = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().openapi({ description: "True when this Message-Id was already stored (a redelivery): nothing new was stored." }),
    message_id: z.string().openapi({ example: "msg_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    conversation_id: z.string().openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    conversation_created: z.boolean(),
    reopened: z.boolean().openapi({ description: "The conversation was resolved, snoozed or closed and is open again." }),
    attachment_ids: z.array(z.string()),
    skipped_attachments: z.array(Skipped),
  })
  .openapi("MailgunForwardAck", {
    example: {
      received: true,
      duplicate: false,
      message_id: "msg_01jd3k9v6q8f2m4x7c5b0n1p2r",
      conversation_id: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r",
      conversation_created: true,
      reopened: false,
      attachment_ids: ["file_01jd3k9v6q8f2m4x7c5b0n1p2r"],
      skipped_attachments: [],
    },
  });

const receive = createRoute({
  method: "post",
  path: "/inbound/mailgun/messages",
  operationId: "receiveMailgunMessage",
  tags: TAGS,
  summary: "Mailgun route forward (inbound email)",
  description: [
    "Called by a Mailgun route whose action is `forward(\"https://<host>/inbound/mailgun/messages\")` (the fully parsed format; urlencoded, or multipart/form-data when the email has attachments).",
    "`signature` must be the hex HMAC-SHA256 of `timestamp + token` with the webhook signing key of the email channel whose address is `recipient` (its `webhook_signing_key`, else `MAILGUN_WEBHOOK_SIGNING_KEY`);",
    "the timestamp must be within 5 minutes of now and each token is accepted once. Otherwise 401 (`details.reason`: missing_signature, stale_timestamp, signature_mismatch, token_reused) and nothing is stored.",
    "A correctly signed email for an address no channel has is answered **406** (error code `not_found`): Mailgun treats 406 as \"rejected, do not retry\", where a 404 would be retried for 8 hours.",
    "The sender (From, else the envelope sender) becomes or finds the workspace's contact by email. `In-Reply-To`, then `References` (newest first), thread the email into the conversation of the message or sent email with that Message-Id (a resolved, snoozed or closed one reopens); otherwise a new conversation starts (source `email`, the channel's id, the subject as title).",
    "The content is `stripped-text` (Mailgun's text without quoted history), else `body-plain` with `On … wrote:` attributions, Outlook separators, `>` quoted lines and the `-- ` signature removed.",
    "Each Message-Id is stored once per workspace: a redelivery answers 200 with `duplicate: true`.",
    "Attachments (`attachment-1` … `attachment-N`) become files of kind `inbound` on the message; one over 25 MiB, or one that would exceed the workspace's storage quota, is skipped and listed, never refused. The whole form may be at most 40 MiB (413).",
    "A form that cannot be read is 400; a signed form without a usable sender is 422.",
  ].join(" "),
  security: [],
  request: {
    body: {
      content: { "application/x-www-form-urlencoded": { schema: ForwardForm }, "multipart/form-data": { schema: ForwardForm } },
      required: true,
    },
  },
  responses: {
    200: jsonContent(Ack, "Stored (or already stored)"),
    406: { description: "Correctly signed, but no email channel has this recipient: Mailgun will not retry (`not_found`).", content: { "application/json": { schema: ErrorSchema } } },
    ...errorResponses(401, 413),
  },
});

/** A form's fields by lower-cased name: Mailgun posts every MIME header as a field too, in its own case. */
class Fields {
  private readonly text = new Map<string, string>();
  readonly files = new Map<string, File>();
  constructor(form: FormData) {
    for (const [name, value] of form.entries()) {
      const key = name.toLowerCase();
      if (typeof value === "string") {
        if (!this.text.has(key)) this.text.set(key, value);
      } else if (!this.files.has(key)) this.files.set(key, value);
    }
  }
  get(name: string): string | undefined {
    return this.text.get(name.toLowerCase());
  }
}

const FORM_TYPES = /^(multipart\/form-data|application\/x-www-form-urlencoded)\s*(;|$)/i;

export const mailgunMessagesRouter = createRouter();

mailgunMessagesRouter.post("/inbound/mailgun/messages", async (c) => {
  const { db, kv, config, storage } = c.var.services;
  if (!FORM_TYPES.test(c.req.header("content-type") ?? "")) {
    throw new ApiError("bad_request", "A Mailgun route forward is a form: send application/x-www-form-urlencoded or multipart/form-data.");
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError("bad_request", "The form body could not be read (malformed multipart or urlencoded data).");
  }
  const f = new Fields(form);
  const sig = parseMailgunSignature(f.get("timestamp"), f.get("token"), f.get("signature"));
  if (!sig) throw signatureError("missing_signature");

  // The recipient picks the channel, and with it the key the request must be signed with.
  const recipients = parseAddressList(f.get("recipient"));
  const found = await emailChannels(db, recipients);
  const ch = recipients.map((r) => found.find((x) => x.inboundKey === r)).find(Boolean);
  await requireSignature(kv, sig, [signingKeyOf(ch, config.mailgunWebhookSigningKey)]);
  if (!ch) {
    return c.json(errorBody("not_found", "No email channel has this recipient address: the email is rejected (Mailgun does not retry a 406).", c.var.requestId), 406);
  }

  const headers = parseHeaderList(f.get("message-headers"));
  const header = (name: string) => f.get(name) ?? headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
  const from = parseAddress(header("from")) ?? parseAddress(f.get("sender"));
  if (!from) {
    throw new ApiError("validation_error", "The email has no usable sender address.", { details: { fields: { from: ["Must contain an email address (or sender must)."] } } });
  }

  const subject = cleanLine(header("subject"), 500);
  const bodyPlain = cleanText(f.get("body-plain"), 1_000_000);
  const stripped = cleanText(f.get("stripped-text"), MAX_CONTENT).trim();
  const inReplyTo = messageIds(header("in-reply-to"));
  const references = messageIds(header("references"));

  // Attachments: attachment-1 … attachment-N (N from attachment-count, bounded).
  // Without a usable attachment-count, the attachment-N file parts that are there.
  const declared = Number.parseInt(f.get("attachment-count") ?? "", 10);
  const given = Number.isFinite(declared) && declared >= 0 ? declared : [...f.files.keys()].filter((k) => /^attachment-\d+$/.test(k)).length;
  const count = Math.min(given, MAX_ATTACHMENTS);
  const attachments: File[] = [];
  const notFiles: string[] = [];
  for (let i = 1; i <= Math.max(count, 0); i++) {
    const file = f.files.get(`attachment-${i}`);
    if (file) attachments.push(file);
    else if (f.get(`attachment-${i}`) !== undefined) notFiles.push(`attachment-${i}`);
  }
  let content = stripped || stripQuoted(bodyPlain).slice(0, MAX_CONTENT) || bodyPlain.trim().slice(0, MAX_CONTENT);
  if (!content) content = attachments.length ? `[${attachments.map((a) => a.name || "attachment").join(", ")}]`.slice(0, 2000) : "(empty email)";

  // An email without a Message-Id still gets one stable id, so a redelivery is still recognised.
  const messageId =
    bareMessageId(header("message-id")) ??
    `${await sha256Hex([from.email, subject, header("date") ?? "", bodyPlain, recipients.join(",")].join("\n"))}@parley.invalid`;

  const meta: Record<string, unknown> = {
    message_id: messageId,
    subject,
    from: from.email,
    ...(from.name ? { from_name: cleanLine(from.name, 200) } : {}),
    to: parseAddressList(header("to")),
    cc: parseAddressList(header("cc")),
    recipient: ch.inboundKey,
    ...(f.get("sender") ? { sender: cleanLine(f.get("sender"), 500) } : {}),
    ...(inReplyTo.length ? { in_reply_to: inReplyTo[0] } : {}),
    ...(references.length ? { references } : {}),
    ...(f.get("stripped-signature") ? { signature: cleanText(f.get("stripped-signature"), 2000).trim() } : {}),
    ...(header("date") ? { date: cleanLine(header("date"), 200) } : {}),
    ...(given > MAX_ATTACHMENTS ? { attachments_omitted: given - MAX_ATTACHMENTS } : {}),
  };

  const email: InboundEmail = {
    messageId,
    from: { email: from.email, ...(from.name ? { name: cleanLine(from.name, 200) } : {}) },
    subject,
    content,
    threadIds: [...inReplyTo, ...[...references].reverse()],
    meta,
    attachments,
    skipped: notFiles.map((name) => ({ filename: name, size: 0, reason: "not_a_file" as const })),
  };
  const r = await storeInboundEmail({ db, storage }, ch, email);
  if (!r.stored) {
    return c.json(
      { received: true as const, duplicate: true, message_id: r.messageId, conversation_id: r.conversationId, conversation_created: false, reopened: false, attachment_ids: [], skipped_attachments: [] },
      200,
    );
  }
  return c.json(
    {
      received: true as const,
      duplicate: false,
      message_id: r.messageId,
      conversation_id: r.conversationId,
      conversation_created: r.conversationCreated,
      reopened: r.reopened,
      attachment_ids: r.attachmentIds,
      skipped_attachments: r.skipped,
    },
    200,
  );
});

// The POST is registered above as a plain route (the form is read and verified by hand); its
// contract goes in the document here.
mailgunMessagesRouter.openAPIRegistry.registerPath(receive);
