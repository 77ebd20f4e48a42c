// Request and response schemas of /v1/emails.
import { z } from "@hono/zod-openapi";
import { EmailAddress } from "../../lib/channels";
import { Timestamp } from "../../lib/openapi";
import { paginationQuery, sortQuery } from "../../lib/pagination";
import { noControlChars, storableText } from "../../lib/safe-text";
import { EMAIL_EVENT_TYPES, EMAIL_STATUSES } from "../../schema/channels";
import { VARIABLE_NAME } from "./reminder-render";

export const EMAIL_SORTS = ["created_at", "sent_at"] as const;
const MAX_RECIPIENTS = 50;

const Recipients = (example: string[]) =>
  z
    .union([EmailAddress, z.array(EmailAddress).min(1, "Give at least one address.").max(MAX_RECIPIENTS, `At most ${MAX_RECIPIENTS} addresses.`)])
    .transform((v) => (Array.isArray(v) ? [...new Set(v)] : [v]))
    .openapi({ example, description: `An address or a list of up to ${MAX_RECIPIENTS}.` });

const Ref = (prefix: string) =>
  z
    .string()
    .min(1)
    .max(100)
    .refine(storableText, "Contains characters that cannot be stored.")
    .openapi({ example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` });

const Subject = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(998, "Must be at most 998 characters.")
  .refine((s) => storableText(s) && noControlChars(s), "Must not contain control characters or line breaks.")
  .openapi({ example: "Your order has shipped" });

const Body = (max: number, example: string) =>
  z
    .string()
    .min(1, "Must not be empty.")
    .max(max, `Must be at most ${max} characters.`)
    .refine((s) => storableText(s) && noControlChars(s, true), "Must not contain control characters.")
    .openapi({ example });

const Variables = z
  .record(
    z.string().regex(VARIABLE_NAME, "Keys must be letters, digits and underscores, not starting with a digit (at most 64)."),
    z.union([
      z
        .string()
        .max(2000, "Must be at most 2000 characters.")
        .refine((s) => storableText(s) && noControlChars(s, true), "Must not contain control characters."),
      z.number().finite(),
      z.boolean(),
    ]),
  )
  .refine((o) => Object.keys(o).length <= 50, "At most 50 variables.")
  .transform((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) as Record<string, string>)
  .openapi({ example: { order: "#4821" }, description: "Values of the template's `{{variables.x}}` (strings, numbers or booleans)." });

export const SendEmailBody = z
  .object({
    to: Recipients(["ada@example.com"]),
    cc: Recipients(["billing@example.com"]).optional(),
    bcc: Recipients(["audit@acme.example"]).optional(),
    subject: Subject.optional(),
    text: Body(100_000, "Hi Ada, your order #4821 has shipped.").optional(),
    html: Body(500_000, "<p>Hi Ada, your order <b>#4821</b> has shipped.</p>").optional(),
    template_id: Ref("rtpl").optional().openapi({ description: "An email reminder template of this workspace: its subject and body are rendered with the contact and `variables` instead of `subject`/`text`/`html`." }),
    variables: Variables.optional(),
    contact_id: Ref("ct").optional().openapi({ description: "The contact the email is about (a contact of this workspace); fills `{{contact.name}}`/`{{contact.email}}` of a template." }),
    conversation_id: Ref("conv").optional().openapi({ description: "A conversation of this workspace the email belongs to." }),
    channel_id: Ref("ch").optional().openapi({ description: "The email channel to send from (its from_address and from_name, its own Mailgun account if it has one). Default: the workspace's oldest active email channel." }),
  })
  // Checked even when other fields fail (`when`), so every problem is listed at once.
  .superRefine(
    (raw, ctx) => {
      const b = raw as Record<string, unknown>;
      if (b.template_id !== undefined) {
        for (const f of ["subject", "text", "html"] as const) {
          if (b[f] !== undefined) ctx.addIssue({ code: "custom", path: [f], message: "Give a template_id or subject/text/html, not both." });
        }
        return;
      }
      if (b.variables !== undefined) ctx.addIssue({ code: "custom", path: ["variables"], message: "Only with a template_id." });
      if (b.subject === undefined) ctx.addIssue({ code: "custom", path: ["subject"], message: "Required (or give a template_id)." });
      if (b.text === undefined && b.html === undefined) ctx.addIssue({ code: "custom", path: ["text"], message: "Give text, html or both (or a template_id)." });
    },
    { when: (p) => typeof p.value === "object" && p.value !== null && !Array.isArray(p.value) },
  )
  .openapi("SendEmail", {
    example: { to: "ada@example.com", subject: "Your order has shipped", text: "Hi Ada, your order #4821 has shipped.", contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" },
  });

export const EMAIL_EXAMPLE = {
  id: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r",
  status: "sent" as const,
  channel_id: "ch_01jd3k9v6q8f2m4x7c5b0n1p2r",
  contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r",
  conversation_id: null,
  message_id: null,
  reminder_id: null,
  template_id: null,
  from: '"Acme Support" <support@mg.acme.example>',
  to: ["ada@example.com"],
  cc: [],
  bcc: [],
  subject: "Your order has shipped",
  text: "Hi Ada, your order #4821 has shipped.",
  html: null,
  variables: {},
  provider_message_id: "eml_01jd3k9v6q8f2m4x7c5b0n1p2r@mg.acme.example",
  error: null,
  attempts: 1,
  sent_at: "2026-12-05T12:00:01.000Z",
  created_at: "2026-12-05T12:00:00.000Z",
  updated_at: "2026-12-05T12:00:01.000Z",
};

export const Email = z
  .object({
    id: z.string().openapi({ example: EMAIL_EXAMPLE.id }),
    status: z.enum(EMAIL_STATUSES).openapi({ description: "`queued` until Mailgun accepts it (`sent`), then as its events say: `delivered`, `opened`, `clicked`, or `failed`, `complained`, `unsubscribed`." }),
    channel_id: z.string().nullable(),
    contact_id: z.string().nullable(),
    conversation_id: z.string().nullable(),
    message_id: z.string().nullable().openapi({ description: "The conversation message this email carries (an agent reply)." }),
    reminder_id: z.string().nullable().openapi({ description: "The reminder that sent it." }),
    template_id: z.string().nullable(),
    from: z.string(),
    to: z.array(z.string()),
    cc: z.array(z.string()),
    bcc: z.array(z.string()),
    subject: z.string(),
    text: z.string().nullable(),
    html: z.string().nullable(),
    variables: z.record(z.string(), z.unknown()),
    provider_message_id: z.string().nullable().openapi({ description: "Mailgun's Message-Id, without angle brackets, once accepted." }),
    error: z.object({ code: z.string(), message: z.string() }).nullable().openapi({ description: "Why it failed: `provider_rejected` (Mailgun's 400), `channel_unauthorized` (Mailgun refused the key), `channel_missing`, `channel_misconfigured`, or a bounce." }),
    attempts: z.number().int().openapi({ description: "Send attempts so far (retries after Mailgun outages count)." }),
    sent_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Email", { example: EMAIL_EXAMPLE });

export const EmailEvent = z
  .object({
    id: z.string(),
    type: z.enum(EMAIL_EVENT_TYPES),
    occurred_at: Timestamp,
    data: z.record(z.string(), z.unknown()).openapi({ description: "What the event says (Mailgun's delivery status, the recipient, the reason of a failure)." }),
  })
  .openapi("EmailEvent");

export const EmailWithEvents = Email.extend({
  events: z.array(EmailEvent).openapi({ description: "Oldest first: `accepted` when Mailgun took it, then Mailgun's events as its webhook reports them." }),
}).openapi("EmailWithEvents", {
  example: { ...EMAIL_EXAMPLE, events: [{ id: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r", type: "accepted", occurred_at: "2026-12-05T12:00:01.000Z", data: {} }] },
});

export const EmailListQuery = paginationQuery.extend({
  status: z.enum(EMAIL_STATUSES).optional().openapi({ example: "sent" }),
  contact_id: Ref("ct").optional(),
  to: z
    .string()
    .max(254)
    .optional()
    .openapi({ example: "ada@example.com", description: "Emails with this address among their recipients (`to`, `cc` or `bcc`), case-insensitive." }),
  sort: sortQuery(EMAIL_SORTS, "-created_at"),
});
