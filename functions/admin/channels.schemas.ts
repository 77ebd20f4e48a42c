// Request and response schemas of /v1/channels. Per-type config fields live in lib/channels.ts
// (the delivery job and the inbound webhooks read the same definitions).
import { z } from "@hono/zod-openapi";
import { createConfigSchema, SECRET_FIELDS } from "../../lib/channels";
import { listOf, Timestamp } from "../../lib/openapi";
import { paginationQuery, sortQuery } from "../../lib/pagination";
import { noControlChars, safeParam, storableText } from "../../lib/safe-text";
import { CHANNEL_STATUSES, CHANNEL_TYPES } from "../../schema/channels";

export const CHANNEL_SORTS = ["created_at", "updated_at", "name"] as const;

const ChannelName = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(200, "Must be at most 200 characters.")
  .refine((s) => noControlChars(s) && storableText(s), "Must not contain control characters.")
  .openapi({ example: "Support inbox" });

export const CHANNEL_EXAMPLE = {
  id: "ch_01jd3k9v6q8f2m4x7c5b0n1p2r",
  type: "email",
  name: "Support inbox",
  config: { address: "support@mg.acme.example", from_name: "Acme Support", from_address: "support@acme.example", mailgun_domain: "mg.acme.example" },
  secrets_set: { mailgun_api_key: true, webhook_signing_key: false },
  status: "active",
  status_reason: null,
  inbound_url: "https://api.parley.example/inbound/mailgun/messages",
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:00:00.000Z",
};

export const Channel = z
  .object({
    id: z.string().openapi({ example: CHANNEL_EXAMPLE.id }),
    type: z.enum(CHANNEL_TYPES).openapi({ example: "email" }),
    name: z.string().openapi({ example: "Support inbox" }),
    config: z.record(z.string(), z.unknown()).openapi({ description: "The type's public configuration. Secret fields never appear here.", example: CHANNEL_EXAMPLE.config }),
    secrets_set: z.record(z.string(), z.boolean()).openapi({
      description: `Which write-only fields are set (email: ${SECRET_FIELDS.email.join(", ")}; whatsapp: ${SECRET_FIELDS.whatsapp.join(", ")}). Their values are never returned.`,
      example: CHANNEL_EXAMPLE.secrets_set,
    }),
    status: z.enum(CHANNEL_STATUSES).openapi({ example: "active", description: "`error` when the provider refused the channel's credentials (see `status_reason`); updating the config sets it back to `active`." }),
    status_reason: z.string().nullable().openapi({ example: null }),
    inbound_url: z.string().nullable().openapi({
      example: CHANNEL_EXAMPLE.inbound_url,
      description: "Where the provider must send this channel's inbound traffic: the Mailgun route's forward URL (email) or the Meta app's webhook URL (WhatsApp); null for web and api.",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Channel", { example: CHANNEL_EXAMPLE });

const variant = <T extends (typeof CHANNEL_TYPES)[number]>(type: T, example: Record<string, unknown>) =>
  z
    .object({ type: z.literal(type), name: ChannelName, config: createConfigSchema(type).openapi({ example }) })
    .openapi(`Create${type[0]!.toUpperCase()}${type.slice(1)}Channel`, { example: { type, name: "Support inbox", config: example } });

export const CreateChannelBody = z
  .discriminatedUnion("type", [
    variant("email", { address: "support@mg.acme.example", from_name: "Acme Support", from_address: "support@acme.example" }),
    variant("whatsapp", { phone_number_id: "106540352242922", access_token: "EAAG…", business_account_id: "102290129340398" }),
    variant("web", { website_url: "https://www.acme.example" }),
    variant("api", {}),
  ])
  .openapi("CreateChannel", { example: { type: "email", name: "Support inbox", config: { address: "support@mg.acme.example", from_name: "Acme Support" } } });

export const UpdateChannelBody = z
  .object({
    name: ChannelName.optional(),
    config: z
      .record(z.string().max(100), z.unknown())
      .optional()
      .openapi({
        description:
          "Merged into the current config: fields not given are kept, `null` removes an optional field (or a secret). Validated against the channel's type (the type cannot change).",
        example: { from_name: "Acme Help", mailgun_api_key: "key-new…" },
      }),
  })
  .openapi("UpdateChannel", { example: { name: "Support (EU)", config: { from_name: "Acme Help" } } });

export const ChannelIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: CHANNEL_EXAMPLE.id }),
});

export const ChannelListQuery = paginationQuery.extend({
  type: z.enum(CHANNEL_TYPES).optional().openapi({ example: "email" }),
  sort: sortQuery(CHANNEL_SORTS, "-created_at"),
});

export const ChannelList = listOf(Channel).openapi({
  example: {
    data: [CHANNEL_EXAMPLE],
    meta: { page: 1, per_page: 20, total: 1, total_pages: 1 },
    links: { first: "https://api.parley.example/v1/channels?page=1&per_page=20", last: "https://api.parley.example/v1/channels?page=1&per_page=20", prev: null, next: null },
  },
});

export const DeletedChannel = z
  .object({ deleted: z.literal(true), id: z.string() })
  .openapi("DeletedChannel", { example: { deleted: true, id: CHANNEL_EXAMPLE.id } });
