// Request and response schemas of /v1/automations (rules that act on events) and their run log.
import { z } from "@hono/zod-openapi";
import { ACTION_TYPES, AUTOMATION_EVENTS, CONDITION_OPERATORS, EVENT_FIELD_EXAMPLES, MAX_ACTIONS, MAX_CONDITIONS } from "../../lib/automations";
import { Timestamp } from "../../lib/openapi";
import { noControlChars, safeParam, storableJson, storableText } from "../../lib/safe-text";
import { CONVERSATION_STATUSES } from "../../schema/conversations";
import { MAX_CONTENT } from "../conversations/schemas";
import { TagName } from "../tags/schemas";
import { WebhookUrl } from "./webhooks.schemas";

const AUTO = "auto_01jd3k9v6q8f2m4x7c5b0n1p2r";
const ARUN = "arun_01jd3k9v6q8f2m4x7c5b0n1p2r";

const Name = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(200, "Must be at most 200 characters.")
  .refine((s) => noControlChars(s) && storableText(s), "Must not contain control characters.")
  .openapi({ example: "Tag refund requests" });

const EventName = z.enum(AUTOMATION_EVENTS, { error: `Must be one of ${AUTOMATION_EVENTS.join(", ")}.` }).openapi({
  example: "message.created",
  description: `The event that starts the automation: ${AUTOMATION_EVENTS.join(", ")}.`,
});

const Scalar = z.union([z.string().max(1000, "Must be at most 1000 characters."), z.number(), z.boolean(), z.null()]);
const FIELDS_DOC = AUTOMATION_EVENTS.map((e) => `\`${e}\`: ${EVENT_FIELD_EXAMPLES[e]}`).join("; ");

export const Condition = z
  .object({
    field: z
      .string()
      .trim()
      .min(1, "Must not be empty.")
      .max(200, "Must be at most 200 characters.")
      .openapi({
        example: "message.content",
        description: `A dotted path into the event's data. Every event about a conversation has \`conversation\` (id, title, status, source, channel_id, contact_id, assignee_id, message_count, metadata, tags, created_at), \`contact\` (id, name, email, phone) and, once summarised, \`summary\` (title, content, sentiment, topics, action_items, language, style); message.created adds \`message\` (id, conversation_id, sender_type, sender_id, content, source, created_at). Per event: ${FIELDS_DOC}. An unknown field is a 422.`,
      }),
    operator: z.enum(CONDITION_OPERATORS, { error: `Must be one of ${CONDITION_OPERATORS.join(", ")}.` }).openapi({
      example: "contains",
      description:
        "`equals`/`not_equals` (exact; an array field equals when one element does), `contains`/`not_contains` (case-insensitive substring of a text, or an element of an array such as `conversation.tags`), `in`/`not_in` (the field, or one of its elements, is in `value`, an array), `exists` (present and not empty; `value: false` for absent), `gt`/`lt` (numbers, or ISO dates compared in time).",
    }),
    value: z
      .union([Scalar, z.array(Scalar).max(100, "At most 100 values.")])
      .optional()
      .openapi({ example: "refund", description: "What the field is compared with; its type depends on the operator (see `operator`)." }),
  })
  .superRefine((c, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: "custom", path: ["value"], message });
    const v = c.value;
    switch (c.operator) {
      case "in":
      case "not_in":
        if (!Array.isArray(v) || v.length === 0) problem(`${c.operator} needs a non-empty array of values.`);
        break;
      case "exists":
        if (v !== undefined && typeof v !== "boolean") problem("exists takes true, false or no value.");
        break;
      case "gt":
      case "lt":
        if (!(typeof v === "number" || (typeof v === "string" && !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}/.test(v)))) problem(`${c.operator} needs a number or an ISO 8601 date.`);
        break;
      case "contains":
      case "not_contains":
        if (!(typeof v === "string" || typeof v === "number" || typeof v === "boolean") || v === "") problem(`${c.operator} needs a non-empty text, a number or a boolean.`);
        break;
      default:
        if (v === undefined || Array.isArray(v)) problem(`${c.operator} needs a single value (text, number, boolean or null).`);
    }
    if (typeof v === "string" && !storableText(v)) problem("Contains characters that cannot be stored.");
    if (Array.isArray(v) && !storableJson(v)) problem("Contains characters that cannot be stored.");
  })
  .openapi("AutomationCondition", { example: { field: "message.content", operator: "contains", value: "refund" } });

const Id = (example: string) => safeParam(100).min(1, "Must not be empty.").openapi({ example });

export const Action = z
  .discriminatedUnion(
    "type",
    [
      z.object({ type: z.literal("add_tag"), tag: TagName.openapi({ description: "Tag name; an unknown name creates the workspace tag." }) }).openapi("AutomationAddTag"),
      z.object({ type: z.literal("remove_tag"), tag: TagName }).openapi("AutomationRemoveTag"),
      z
        .object({ type: z.literal("assign"), agent_id: Id("agt_01jd3k9v6q8f2m4x7c5b0n1p2r").nullable().openapi({ description: "An agent of this workspace; null unassigns." }) })
        .openapi("AutomationAssign"),
      z.object({ type: z.literal("set_status"), status: z.enum(CONVERSATION_STATUSES, { error: `Must be one of ${CONVERSATION_STATUSES.join(", ")}.` }) }).openapi("AutomationSetStatus"),
      z
        .object({
          type: z.literal("send_message"),
          content: z
            .string()
            .trim()
            .min(1, "Must not be empty.")
            .max(MAX_CONTENT, `Must be at most ${MAX_CONTENT} characters.`)
            .refine(storableText, "Contains characters that cannot be stored.")
            .openapi({ example: "Thanks! We got your message and will answer within a day." }),
        })
        .openapi("AutomationSendMessage"),
      z.object({ type: z.literal("send_email"), template_id: Id("rtpl_01jd3k9v6q8f2m4x7c5b0n1p2r") }).openapi("AutomationSendEmail"),
      z.object({ type: z.literal("summarize") }).openapi("AutomationSummarize"),
      z.object({ type: z.literal("webhook"), url: WebhookUrl }).openapi("AutomationWebhook"),
    ],
    { error: (iss) => (iss.code === "invalid_union" ? `type must be one of ${ACTION_TYPES.join(", ")}.` : undefined) },
  )
  .openapi({
    description: [
      "What the automation does, in order. `add_tag`/`remove_tag` `{tag}` (on contact.created: the contact, else the conversation);",
      "`assign` `{agent_id}`; `set_status` `{status}`; `send_message` `{content}` (an agent-style message from the automation, delivered on email and WhatsApp conversations like an agent's);",
      "`send_email` `{template_id}` (an email reminder template without `{{variables.x}}`, rendered for the event's contact and sent to its address from the conversation's email channel, else the workspace's default; a contact without an email address fails the run); `summarize` (requests an AI summary); `webhook` `{url}` (one signed Standard Webhooks POST of the event, see the create operation).",
    ].join(" "),
    example: { type: "add_tag", tag: "refund" },
  });

const Conditions = z.array(Condition).max(MAX_CONDITIONS, `At most ${MAX_CONDITIONS} conditions.`);
const Actions = z.array(Action).min(1, "Give at least one action.").max(MAX_ACTIONS, `At most ${MAX_ACTIONS} actions.`);

const CREATE_EXAMPLE = {
  name: "Tag refund requests",
  event: "message.created",
  conditions: [
    { field: "message.sender_type", operator: "equals", value: "contact" },
    { field: "message.content", operator: "contains", value: "refund" },
  ],
  actions: [
    { type: "add_tag", tag: "refund" },
    { type: "assign", agent_id: "agt_01jd3k9v6q8f2m4x7c5b0n1p2r" },
  ],
  active: true,
};

export const CreateAutomationBody = z
  .object({ name: Name, event: EventName, conditions: Conditions.default([]), actions: Actions, active: z.boolean().default(true) })
  .openapi("CreateAutomation", { example: CREATE_EXAMPLE });

export const UpdateAutomationBody = z
  .object({ name: Name.optional(), event: EventName.optional(), conditions: Conditions.optional(), actions: Actions.optional(), active: z.boolean().optional() })
  .openapi("UpdateAutomation", { example: { conditions: [{ field: "summary.sentiment", operator: "in", value: ["negative", "mixed"] }], active: true } });

export const AUTOMATION_EXAMPLE = {
  id: AUTO,
  ...CREATE_EXAMPLE,
  run_count: 12,
  last_run_at: "2026-11-24T12:05:00.000Z",
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:00:00.000Z",
};

export const Automation = z
  .object({
    id: z.string(),
    name: z.string(),
    event: z.string(),
    conditions: z.array(z.object({ field: z.string(), operator: z.string(), value: z.unknown().optional() })),
    actions: z.array(z.record(z.string(), z.unknown())),
    active: z.boolean(),
    run_count: z.number().int().openapi({ description: "Runs whose conditions held (succeeded or failed)." }),
    last_run_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Automation", { example: AUTOMATION_EXAMPLE });

const SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3PAbBKwx8sk=";
export const AutomationWithSecret = Automation.extend({
  webhook_secret: z.string().openapi({ description: "Signs the requests of this automation's `webhook` actions (Standard Webhooks). Shown only here: keep it.", example: SECRET_EXAMPLE }),
}).openapi("AutomationWithSecret", { example: { ...AUTOMATION_EXAMPLE, webhook_secret: SECRET_EXAMPLE } });

export const RUN_EXAMPLE = {
  id: ARUN,
  automation_id: AUTO,
  event_id: "evt_01jd3k9v6q8f2m4x7c5b0n1p2r",
  event_type: "message.created",
  status: "succeeded",
  depth: 0,
  reason: null,
  error: null,
  results: [
    { type: "add_tag", status: "succeeded", detail: "tagged conv_01jd3k9v6q8f2m4x7c5b0n1p2r with refund", duration_ms: 4 },
    { type: "assign", status: "succeeded", detail: "assigned to agt_01jd3k9v6q8f2m4x7c5b0n1p2r", duration_ms: 3 },
  ],
  started_at: "2026-11-24T12:05:00.000Z",
  finished_at: "2026-11-24T12:05:00.009Z",
  duration_ms: 9,
};

export const AutomationRun = z
  .object({
    id: z.string(),
    automation_id: z.string(),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(["succeeded", "failed", "skipped"]).openapi({
      description:
        "`succeeded`: the conditions held and every action was done. `failed`: the conditions held and an action failed (`error`); the run's changes were undone together (a webhook already sent stays sent). `skipped`: a condition did not hold, or the loop guard stopped it (`reason`).",
    }),
    depth: z.number().int().openapi({ description: "How many automation hops led to the event (0: a person or an integration)." }),
    reason: z.string().nullable(),
    error: z.string().nullable(),
    results: z
      .array(
        z.object({
          type: z.string(),
          status: z.enum(["succeeded", "failed", "not_run"]),
          detail: z.string().optional(),
          error: z.string().optional(),
          duration_ms: z.number().int().optional(),
        }),
      )
      .openapi({ description: "Per action, in order: its outcome, what it did or its error, and how long it took." }),
    started_at: Timestamp,
    finished_at: Timestamp.nullable(),
    duration_ms: z.number().int().nullable(),
  })
  .openapi("AutomationRun", { example: RUN_EXAMPLE });

export const AutomationIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: AUTO }),
});

export const RunsQuery = z.object({
  status: z.enum(["succeeded", "failed", "skipped"]).optional().openapi({ example: "failed" }),
});
