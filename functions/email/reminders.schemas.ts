// Request and response schemas of reminder templates and reminders.
import { z } from "@hono/zod-openapi";
import { orNull, Timestamp } from "../../lib/openapi";
import { paginationQuery, sortQuery } from "../../lib/pagination";
import { noControlChars, safeParam, storableText } from "../../lib/safe-text";
import { REMINDER_CHANNELS, REMINDER_STATUSES } from "../../schema/reminders";
import { ALLOWED_VARIABLES, parseTemplate, VARIABLE_NAME } from "./reminder-render";

export const TEMPLATE_SORTS = ["created_at", "updated_at", "name"] as const;
export const REMINDER_SORTS = ["created_at", "send_at"] as const;
/** ±1 year around the event. */
export const MAX_OFFSET_MINUTES = 525_600;

const storable = (s: string) => storableText(s);

/** A template string: its `{{…}}` variables are checked here, so a bad one is a 422 naming the field. */
const templateText = (max: number, example: string, lines: boolean) =>
  z
    .string()
    .max(max, `Must be at most ${max} characters.`)
    .refine((s) => s.trim().length > 0, "Must not be empty.")
    .refine((s) => storable(s) && noControlChars(s, lines), "Must not contain control characters.")
    .superRefine((s, ctx) => {
      for (const message of parseTemplate(s).errors) ctx.addIssue({ code: "custom", message });
    })
    .openapi({ example, description: `Text with variables: ${ALLOWED_VARIABLES}.` });

const TemplateName = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(200, "Must be at most 200 characters.")
  .refine((s) => noControlChars(s) && storable(s), "Must not contain control characters.")
  .openapi({ example: "Appointment reminder (24 h)" });

const Subject = templateText(300, "Your appointment {{event_at}}", false);
const Body = templateText(20_000, "<p>Hi {{contact.name}},</p><p>see you {{event_at}} at {{variables.location}}.</p>", true);

const WhatsAppTemplate = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9_]{1,512}$/, "Must be a WhatsApp template name: lower-case letters, digits and underscores.")
      .openapi({ example: "appointment_reminder" }),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, "Must be a WhatsApp language code such as en or en_US.")
      .openapi({ example: "en_US" }),
  })
  .openapi("ReminderWhatsAppTemplate", {
    description: "An approved WhatsApp message template sent instead of free text (needed outside the 24-hour window). Each `{{…}}` of `body`, in order, fills the template's {{1}}, {{2}}, …",
    example: { name: "appointment_reminder", language: "en_US" },
  });

const Offset = z
  .number()
  .int("Must be a whole number of minutes.")
  .min(-MAX_OFFSET_MINUTES, `Must be at least -${MAX_OFFSET_MINUTES}.`)
  .max(MAX_OFFSET_MINUTES, `Must be at most ${MAX_OFFSET_MINUTES}.`)
  .openapi({ example: -1440, description: "Minutes from `event_at` to `send_at`: -1440 sends a day before the event." });

export const CreateTemplateBody = z
  .object({
    name: TemplateName,
    channel: z.enum(REMINDER_CHANNELS).openapi({ example: "email" }),
    subject: Subject.nullish(),
    body: Body,
    offset_minutes: Offset.default(0),
    active: z.boolean().default(true).openapi({ example: true, description: "An inactive template cannot be used for new reminders; reminders already scheduled still go out." }),
    whatsapp_template: orNull(WhatsAppTemplate).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.channel === "email" && !t.subject) ctx.addIssue({ code: "custom", path: ["subject"], message: "Required for an email template." });
    if (t.channel !== "whatsapp" && t.whatsapp_template) ctx.addIssue({ code: "custom", path: ["whatsapp_template"], message: "Only for a whatsapp template." });
  })
  .openapi("CreateReminderTemplate", {
    example: {
      name: "Appointment reminder (24 h)",
      channel: "email",
      subject: "Your appointment {{event_at}}",
      body: "<p>Hi {{contact.name}},</p><p>see you {{event_at}} at {{variables.location}}.</p>",
      offset_minutes: -1440,
      active: true,
    },
  });

export const UpdateTemplateBody = z
  .object({
    name: TemplateName.optional(),
    channel: z.enum(REMINDER_CHANNELS).optional(),
    subject: Subject.nullish(),
    body: Body.optional(),
    offset_minutes: Offset.optional(),
    active: z.boolean().optional(),
    whatsapp_template: orNull(WhatsAppTemplate).optional(),
  })
  .openapi("UpdateReminderTemplate", {
    description: "Changes are checked against the whole resulting template (an email template keeps a subject). Reminders already scheduled are rendered with the template as it is when they are sent.",
    example: { offset_minutes: -120, active: false },
  });

export const TEMPLATE_EXAMPLE = {
  id: "rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r",
  name: "Appointment reminder (24 h)",
  channel: "email" as const,
  subject: "Your appointment {{event_at}}",
  body: "<p>Hi {{contact.name}},</p><p>see you {{event_at}} at {{variables.location}}.</p>",
  offset_minutes: -1440,
  active: true,
  whatsapp_template: null,
  variables: ["event_at", "contact.name", "variables.location"],
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:00:00.000Z",
};

export const ReminderTemplate = z
  .object({
    id: z.string().openapi({ example: TEMPLATE_EXAMPLE.id }),
    name: z.string(),
    channel: z.enum(REMINDER_CHANNELS),
    subject: z.string().nullable(),
    body: z.string(),
    offset_minutes: z.number().int(),
    active: z.boolean(),
    whatsapp_template: z.object({ name: z.string(), language: z.string() }).nullable(),
    variables: z.array(z.string()).openapi({ description: "The variables subject and body use; a reminder must give every `variables.x` among them." }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("ReminderTemplate", { example: TEMPLATE_EXAMPLE });

export const TemplateListQuery = paginationQuery.extend({
  channel: z.enum(REMINDER_CHANNELS).optional().openapi({ example: "email" }),
  active: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ example: "true" }),
  sort: sortQuery(TEMPLATE_SORTS, "-created_at"),
});

// ---- Reminders ----

const VariableValue = z.union([
  z
    .string()
    .max(2000, "Must be at most 2000 characters.")
    .refine((s) => storable(s) && noControlChars(s, true), "Must not contain control characters."),
  z.number().finite(),
  z.boolean(),
]);

const Variables = z
  .record(z.string().regex(VARIABLE_NAME, "Keys must be letters, digits and underscores, not starting with a digit (at most 64)."), VariableValue)
  .refine((o) => Object.keys(o).length <= 50, "At most 50 variables.")
  .transform((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) as Record<string, string>)
  .openapi({ example: { location: "12 Rue de Rivoli, Paris" }, description: "Values of the template's `{{variables.x}}` (strings, numbers or booleans)." });

const ReminderId = (prefix: string, example: string) =>
  z
    .string()
    .min(1)
    .max(100)
    .refine(storable, "Contains characters that cannot be stored.")
    .openapi({ example: `${prefix}_${example}` });

export const CreateReminderBody = z
  .object({
    template_id: ReminderId("rtpl", "01jd3k9v6q8f2m4x7c5b0n1p2r"),
    contact_id: ReminderId("ct", "01jd3k9v6q8f2m4x7c5b0n1p2r"),
    send_at: z.iso.datetime({ offset: true, message: "Must be an ISO 8601 date-time." }).optional().openapi({ example: "2026-12-04T14:00:00.000Z" }),
    event_at: z.iso
      .datetime({ offset: true, message: "Must be an ISO 8601 date-time." })
      .optional()
      .openapi({ example: "2026-12-05T14:00:00.000Z", description: "The event the reminder is about: `send_at = event_at + offset_minutes`." }),
    variables: Variables.optional(),
    channel_id: ReminderId("ch", "01jd3k9v6q8f2m4x7c5b0n1p2r")
      .optional()
      .openapi({ description: "The channel to send on (of the template's type). Default: the workspace's oldest active channel of that type; email may also go out through Parley's own Mailgun account." }),
  })
  .superRefine((r, ctx) => {
    if (!r.send_at && !r.event_at) ctx.addIssue({ code: "custom", path: ["send_at"], message: "Give send_at or event_at." });
    if (r.send_at && r.event_at) ctx.addIssue({ code: "custom", path: ["send_at"], message: "Give send_at or event_at, not both." });
  })
  .openapi("CreateReminder", {
    example: { template_id: "rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r", contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r", event_at: "2026-12-05T14:00:00.000Z", variables: { location: "12 Rue de Rivoli, Paris" } },
  });

export const UpdateReminderBody = z
  .object({
    send_at: z.iso.datetime({ offset: true, message: "Must be an ISO 8601 date-time." }).optional().openapi({ example: "2026-12-04T16:00:00.000Z" }),
    event_at: z.iso.datetime({ offset: true, message: "Must be an ISO 8601 date-time." }).optional().openapi({ example: "2026-12-05T16:00:00.000Z" }),
    variables: Variables.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.send_at && r.event_at) ctx.addIssue({ code: "custom", path: ["send_at"], message: "Give send_at or event_at, not both." });
    if (!r.send_at && !r.event_at && !r.variables) ctx.addIssue({ code: "custom", path: ["send_at"], message: "Give send_at, event_at or variables." });
  })
  .openapi("UpdateReminder", {
    description: "Reschedules (a new `send_at`, or a new `event_at` and so `send_at` from the template's offset) or changes variables; only while `scheduled` (409 otherwise).",
    example: { event_at: "2026-12-05T16:00:00.000Z" },
  });

export const REMINDER_EXAMPLE = {
  id: "rem_01jd3k9v6q8f2m4x7c5b0n1p2r",
  template_id: "rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r",
  contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r",
  channel: "email" as const,
  channel_id: null,
  event_at: "2026-12-05T14:00:00.000Z",
  send_at: "2026-12-04T14:00:00.000Z",
  variables: { location: "12 Rue de Rivoli, Paris" },
  status: "scheduled" as const,
  email_id: null,
  message_id: null,
  conversation_id: null,
  delivery_status: null,
  error: null,
  sent_at: null,
  canceled_at: null,
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:00:00.000Z",
};

const ErrorInfo = z.object({ code: z.string(), message: z.string() }).nullable();

export const Reminder = z
  .object({
    id: z.string().openapi({ example: REMINDER_EXAMPLE.id }),
    template_id: z.string(),
    contact_id: z.string(),
    channel: z.enum(REMINDER_CHANNELS),
    channel_id: z.string().nullable(),
    event_at: Timestamp.nullable(),
    send_at: Timestamp,
    variables: z.record(z.string(), z.string()),
    status: z.enum(REMINDER_STATUSES).openapi({ description: "scheduled → sending → sent | failed, or canceled. `sent`: the email or WhatsApp message was created and queued for delivery." }),
    email_id: z.string().nullable().openapi({ description: "The email sent (GET /v1/emails/{id} has its events)." }),
    message_id: z.string().nullable().openapi({ description: "The WhatsApp message sent, in conversation `conversation_id`." }),
    conversation_id: z.string().nullable(),
    delivery_status: z.string().nullable().openapi({ description: "Where the email's or message's delivery is now (queued, sent, delivered, …, failed)." }),
    error: ErrorInfo.openapi({ description: "Why the reminder failed." }),
    sent_at: Timestamp.nullable(),
    canceled_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Reminder", { example: REMINDER_EXAMPLE });

export const ReminderListQuery = paginationQuery.extend({
  status: z.enum(REMINDER_STATUSES).optional().openapi({ example: "scheduled" }),
  contact_id: safeParam(100).optional().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  template_id: safeParam(100).optional().openapi({ example: "rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  sort: sortQuery(REMINDER_SORTS, "-created_at"),
});

export const IdParam = (prefix: string) =>
  z.object({
    id: safeParam(200)
      .min(1)
      .openapi({ param: { name: "id", in: "path" }, example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` }),
  });
