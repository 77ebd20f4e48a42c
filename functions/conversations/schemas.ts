// Request and response schemas of conversations, messages and capture (OpenAPI + validation).
import { z } from "@hono/zod-openapi";
import { paginationQuery, sortQuery } from "../../lib/pagination";
import { orNull, Timestamp } from "../../lib/openapi";
import { safeParam, storableJson, storableText } from "../../lib/safe-text";
import { Tag } from "../tags/schemas";
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES, PROCESSING_STATUSES } from "../../schema";

export const CONVERSATION_SORTS = ["created_at", "updated_at", "last_message_at"] as const;
export const MAX_CONTENT = 65_536;
export const MAX_METADATA_BYTES = 16_384;

const EX = {
  conv: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r",
  msg: "msg_01jd3k9w1a2b3c4d5e6f7g8h9j",
  ct: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r",
  ses: "ses_01jd3k9v6q8f2m4x7c5b0n1p2r",
  agt: "agt_01jd3k9v6q8f2m4x7c5b0n1p2r",
  ch: "ch_01jd3k9v6q8f2m4x7c5b0n1p2r",
  ast: "ast_01jd3k9v6q8f2m4x7c5b0n1p2r",
  at: "2026-11-24T12:00:00.000Z",
};

const UNSTORABLE = "Contains characters that cannot be stored (NUL or a lone surrogate).";

/** A trimmed, non-empty, storable string of at most `max` characters. */
const words = (max: number) => z.string().trim().min(1).max(max).refine(storableText, UNSTORABLE);

/** A reference to another resource by id (shape only; existence is checked in the workspace). */
const ref = (prefix: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z]+_[0-9a-z]+$/, "Must be an id.")
    .openapi({ example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` });

/** `{id}` of a conversation in the path. */
export const ConversationIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: EX.conv }),
});

/** Free-form metadata: an object of at most 50 keys and 16 KiB of JSON. */
export const Metadata = z
  .record(z.string().min(1).max(64), z.unknown())
  .refine((m) => Object.keys(m).length <= 50, "At most 50 keys.")
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `At most ${MAX_METADATA_BYTES} bytes of JSON.`)
  .refine((m) => storableJson(m), UNSTORABLE)
  .openapi({ example: { order_id: "A-1042", plan: "pro" } });

export const Status = z.enum(CONVERSATION_STATUSES).openapi({ example: "open" });
export const Source = z.enum(CONVERSATION_SOURCES).openapi({ example: "api" });

export const Summary = z
  .object({
    title: z.string(),
    content: z.string(),
    sentiment: z.enum(["positive", "neutral", "negative", "mixed"]),
    topics: z.array(z.string()),
    action_items: z.array(z.string()),
    language: z.string(),
    style: z.string(),
  })
  .openapi("ConversationSummary");

export const Conversation = z
  .object({
    id: z.string().openapi({ example: EX.conv }),
    title: z.string().openapi({ example: "Refund for order A-1042" }),
    source: Source,
    status: Status,
    processing_status: z.enum(PROCESSING_STATUSES).nullable().openapi({ example: "processing" }),
    contact_id: z.string().nullable().openapi({ example: EX.ct }),
    session_id: z.string().nullable().openapi({ example: null }),
    channel_id: z.string().nullable().openapi({ example: null }),
    assignee_id: z.string().nullable().openapi({ example: EX.agt }),
    assistant_id: z.string().nullable().openapi({ example: null }),
    metadata: z.record(z.string(), z.unknown()),
    tags: z.array(z.string()).openapi({ example: ["billing"] }),
    unread_count: z.number().int().openapi({ example: 2 }),
    message_count: z.number().int().openapi({ example: 5 }),
    last_message_at: z.string().nullable().openapi({ example: EX.at }),
    first_response_at: z.string().nullable().openapi({ example: EX.at }),
    resolved_at: z.string().nullable().openapi({ example: null }),
    summary: orNull(Summary),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Conversation");

export const ContactRef = z
  .object({
    id: z.string().openapi({ example: EX.ct }),
    name: z.string().nullable().openapi({ example: "Ada Lovelace" }),
    email: z.string().nullable().openapi({ example: "ada@example.com" }),
    phone: z.string().nullable().openapi({ example: "+441234567890" }),
    attributes: z.record(z.string(), z.unknown()),
    last_seen_at: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .passthrough()
  .openapi("ConversationContact");

export const ConversationDetail = Conversation.omit({ tags: true })
  .extend({
    content: z.string().nullable().openapi({ example: "Customer: my order arrived broken…" }),
    contact: orNull(ContactRef),
    tags: z.array(Tag),
    attachments: z
      .array(
        z.object({
          id: z.string(),
          filename: z.string(),
          size: z.number().int(),
          mime_type: z.string(),
          url: z.string().url(),
          url_expires_at: z.string(),
          conversation_id: z.string().nullable(),
          message_id: z.string().nullable(),
          created_at: z.string(),
        }),
      )
      .openapi({
        description: "Files attached to the conversation, oldest first; `url` is a signed link to the bytes, valid for 15 minutes without credentials.",
        example: [
          {
            id: "file_01jd3k9v6q8f2m4x7c5b0n1p2r",
            filename: "invoice-A-1042.pdf",
            size: 48213,
            mime_type: "application/pdf",
            url: "https://api.parley.example/v1/files/file_01jd3k9v6q8f2m4x7c5b0n1p2r/content?ws=ws_01jd3k9v6q8f2m4x7c5b0n1p2r&expires=1795176000&signature=3q2-7wX0m9b1c4v6n8k0j2h4g6f8d0s2a4q6w8e0r2t",
            url_expires_at: "2026-11-24T12:15:00.000Z",
            conversation_id: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r",
            message_id: null,
            created_at: "2026-11-24T12:00:00.000Z",
          },
        ],
      }),
  })
  .openapi("ConversationDetail");

export const ListQuery = paginationQuery.extend({
  status: Status.optional(),
  source: Source.optional(),
  channel_id: safeParam(200).optional().openapi({ example: EX.ch }),
  tag: safeParam(100).trim().min(1).optional().openapi({ example: "billing", description: "Tag name (case-insensitive)." }),
  assignee_id: safeParam(200).optional().openapi({ example: EX.agt }),
  contact_id: safeParam(200).optional().openapi({ example: EX.ct }),
  assistant_id: safeParam(200).optional().openapi({ example: EX.ast }),
  search: safeParam(200).trim().min(1).optional().openapi({ example: "refund", description: "Full-text search over title, summary, content and messages (web-search syntax, as in POST /v1/conversations/search)." }),
  processing_status: z.enum(PROCESSING_STATUSES).optional(),
  sort: sortQuery(CONVERSATION_SORTS, "-created_at"),
});

export const CreateBody = z
  .object({
    title: words(500).openapi({ example: "Refund for order A-1042" }),
    content: words(MAX_CONTENT).optional().openapi({ example: "Customer: my order arrived broken. Agent: sorry, refunding now." }),
    source: Source.default("api"),
    contact_id: ref("ct").optional(),
    channel_id: ref("ch").optional(),
    session_id: ref("ses").optional(),
    assistant_id: ref("ast").optional(),
    metadata: Metadata.optional(),
  })
  .openapi("CreateConversation");

export const UpdateBody = z
  .object({
    title: words(500).optional().openapi({ example: "Refund (resolved)" }),
    status: Status.optional(),
    assignee_id: ref("agt").nullable().optional().openapi({ example: EX.agt }),
    metadata: Metadata.optional().openapi({
      description: "Merged key by key into the stored metadata; a key set to null is removed.",
      example: { plan: "enterprise", old_key: null },
    }),
  })
  .openapi("UpdateConversation");

export const StatusBody = z.object({ status: Status }).openapi("ConversationStatus");
export const AssignBody = z
  .object({ agent_id: ref("agt").nullable().openapi({ example: EX.agt, description: "An agent of your workspace, or null to unassign." }) })
  .openapi("AssignConversation");

// ---- messages ----

export const MESSAGE_SENDERS = ["agent", "contact", "assistant", "note"] as const;

export const Message = z
  .object({
    id: z.string().openapi({ example: EX.msg }),
    conversation_id: z.string().openapi({ example: EX.conv }),
    sender_type: z.enum(["agent", "contact", "assistant", "note", "system"]).openapi({ example: "agent" }),
    sender_id: z.string().nullable().openapi({ example: EX.agt }),
    content: z.string().openapi({ example: "Thanks, the refund is on its way." }),
    status: z.string().openapi({ example: "complete", description: "`complete`; `queued` while waiting for delivery on an email or WhatsApp channel." }),
    source: z.string().nullable().openapi({ example: "api" }),
    external_id: z.string().nullable().openapi({ example: null, description: "Mailgun's Message-Id (without angle brackets) or WhatsApp's wamid, once sent; the provider's id of an inbound message." }),
    delivery_status: z
      .enum(["queued", "sent", "delivered", "read", "failed"])
      .nullable()
      .openapi({ example: null, description: "`null`: not delivered anywhere (chat, notes, inbound). An agent message on an email or WhatsApp conversation: `queued → sent → delivered → read`, or `failed`." }),
    delivery_error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .openapi({ example: null, description: "Why delivery failed: e.g. `outside_messaging_window`, `undeliverable`, `channel_unauthorized`, `provider_rejected`, `no_recipient`." }),
    attachment_ids: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
  })
  .openapi("Message");

export const MessageListQuery = paginationQuery.extend({
  since: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ example: EX.at, description: "Only messages created strictly after this ISO 8601 time (for polling)." }),
});

const isObject = (p: { value: unknown }) => typeof p.value === "object" && p.value !== null && !Array.isArray(p.value);

/** An approved WhatsApp message template (Meta's name and language; body parameters in order). */
export const WhatsAppTemplate = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9_]{1,512}$/, "Must be a template name: lower-case letters, digits and underscores.")
      .openapi({ example: "order_update" }),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "Must be a language code such as en or en_US.")
      .openapi({ example: "en_US" }),
    parameters: z.array(words(1024)).max(20).optional().openapi({ example: ["#4821", "Thursday"], description: "The body's {{1}}, {{2}}, … in order." }),
  })
  .openapi("WhatsAppTemplate");

export const SendBody = z
  .object({
    content: words(MAX_CONTENT).optional().openapi({ example: "Thanks, the refund is on its way.", description: "Required unless `template` is given." }),
    sender_type: z.enum(MESSAGE_SENDERS).openapi({ example: "agent" }),
    attachment_ids: z.array(ref("file")).max(20).optional().openapi({ example: [] }),
    template: WhatsAppTemplate.optional().openapi({
      description:
        "WhatsApp conversations only, agent messages only, instead of `content`: an approved template, which may be sent outside the 24-hour customer-service window. Stored with a readable `content` (`[template name (language)] parameters…`) and the template in `metadata.whatsapp.template`.",
    }),
  })
  // Checked even when other fields fail (`when`), so every problem is listed at once.
  .refine((b) => !(b.template !== undefined && b.content !== undefined), { path: ["template"], message: "Give content or template, not both.", when: isObject })
  .refine((b) => b.template !== undefined || b.content !== undefined, { path: ["content"], message: "Required (or give a WhatsApp template).", when: isObject })
  .refine((b) => b.template === undefined || b.sender_type === "agent", { path: ["template"], message: "Only agent messages can be templates.", when: isObject })
  .refine((b) => b.template === undefined || !b.attachment_ids?.length, { path: ["attachment_ids"], message: "A template message carries no attachments; send the files in a message of their own.", when: isObject })
  .openapi("SendMessage", { example: { content: "Thanks, the refund is on its way.", sender_type: "agent" } });

// ---- capture ----

export const CaptureItem = z
  .object({
    conversation_id: ref("conv").optional(),
    session_id: ref("ses").optional(),
    contact_id: ref("ct").optional(),
    source: Source,
    sender_type: z.enum(["agent", "contact", "assistant", "note", "system"]).openapi({ example: "contact" }),
    content: words(MAX_CONTENT).openapi({ example: "Hi, is my order shipped?" }),
    external_id: words(255).optional().openapi({ example: "wa-msg-8841" }),
    occurred_at: z.string().datetime({ offset: true }).optional().openapi({ example: EX.at }),
  })
  .superRefine((m, ctx) => {
    const given = [m.conversation_id, m.session_id, m.contact_id].filter((v) => v !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: "custom", path: ["conversation_id"], message: "Give exactly one of conversation_id, session_id or contact_id." });
  });

export const CaptureBody = z.object({ messages: z.array(CaptureItem).min(1).max(100) }).openapi("CaptureMessages", {
  example: { messages: [{ session_id: EX.ses, source: "web", sender_type: "contact", content: "Hi, is my order shipped?", external_id: "web-1" }] },
});

export const CaptureResult = z
  .object({
    captured: z.number().int().openapi({ example: 1 }),
    duplicates: z.number().int().openapi({ example: 0 }),
    items: z.array(
      z.object({
        external_id: z.string().nullable(),
        id: z.string().openapi({ example: EX.msg }),
        conversation_id: z.string().openapi({ example: EX.conv }),
        duplicate: z.boolean().optional(),
      }),
    ),
  })
  .openapi("CaptureResult");
