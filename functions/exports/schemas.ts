// Request and response schemas of exports.
import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../lib/openapi";
import { safeParam, storableText } from "../../lib/safe-text";
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from "../../schema";
import { EXPORT_FORMATS, EXPORT_STATUSES } from "../../schema/exports";

const SENTIMENTS = ["positive", "neutral", "negative", "mixed"] as const;
const UNSTORABLE = "Contains characters that cannot be stored (NUL or a lone surrogate).";
const EXP_ID = "exp_01jd3k9v6q8f2m4x7c5b0n1p2r";

/** One value or a list of them (any of them matches); always a list after parsing. */
const oneOrMany = <T extends z.ZodType>(item: T, example: unknown) =>
  z
    .union([item, z.array(item).min(1).max(20)])
    .transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[])
    .optional()
    .openapi({ example });
const label = z.string().trim().min(1).max(100).refine(storableText, UNSTORABLE);
const dateOrTime = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .openapi({ description: "A date (`YYYY-MM-DD`, whole days in UTC) or an ISO 8601 timestamp." });

export const ExportFiltersSchema = z
  .object({
    date_from: dateOrTime.optional().openapi({ example: "2026-11-01" }),
    date_to: dateOrTime.optional().openapi({ example: "2026-11-30", description: "Inclusive: a date includes that whole day (UTC)." }),
    status: oneOrMany(z.enum(CONVERSATION_STATUSES), ["resolved", "closed"]).openapi({ description: "Any of these statuses." }),
    source: oneOrMany(z.enum(CONVERSATION_SOURCES), "email").openapi({ description: "Any of these sources." }),
    tags: oneOrMany(label, ["vip"]).openapi({ description: "Tag names (case-insensitive); a conversation with any of them matches." }),
    topics: oneOrMany(label, ["billing"]).openapi({ description: "Summary topics (case-insensitive); any of them matches." }),
    sentiment: oneOrMany(z.enum(SENTIMENTS), "negative").openapi({ description: "Summary sentiment; any of them matches." }),
  })
  .strict()
  .default({})
  .openapi({ description: "Which conversations (by `created_at`); every filter given must hold, a list inside one filter means any of its values. The same filters as search." });

export const CreateExportBody = z
  .object({
    format: z.enum(EXPORT_FORMATS).openapi({ example: "csv" }),
    filters: ExportFiltersSchema,
    options: z
      .object({
        include_messages: z.boolean().default(false).openapi({ example: true, description: "Each conversation's messages (notes included), oldest first." }),
        include_attachments: z.boolean().default(false).openapi({ example: false, description: "Each conversation's attachments (filename, size, type)." }),
      })
      .strict()
      .default({ include_messages: false, include_attachments: false }),
  })
  .strict()
  .openapi("CreateExport", { example: { format: "csv", filters: { date_from: "2026-11-01", date_to: "2026-11-30", status: ["resolved"] }, options: { include_messages: true, include_attachments: false } } });

export const EXPORT_EXAMPLE = {
  id: EXP_ID,
  status: "completed",
  progress: 100,
  format: "csv",
  filters: { date_from: "2026-11-01", date_to: "2026-11-30", status: ["resolved"] },
  options: { include_messages: true, include_attachments: false },
  total: 1240,
  processed: 1240,
  size_mb: 3.42,
  file_id: "file_01jd3k9v6q8f2m4x7c5b0n1p2r",
  download_url: "https://api.parley.example/v1/files/file_01jd3k9v6q8f2m4x7c5b0n1p2r/content?ws=ws_01jd3k9v6q8f2m4x7c5b0n1p2r&expires=1795179600&signature=3q2-7wX0m9b1c4v6n8k0j2h4g6f8d0s2a4q6w8e0r2t",
  expires_at: "2026-11-24T13:00:00.000Z",
  error: null,
  created_at: "2026-11-24T12:00:00.000Z",
  completed_at: "2026-11-24T12:00:04.000Z",
};

export const ExportObject = z
  .object({
    id: z.string().openapi({ example: EXP_ID }),
    status: z.enum(EXPORT_STATUSES).openapi({ example: "completed" }),
    progress: z.number().int().min(0).max(100).openapi({ example: 100, description: "Percent of the conversations rendered (100 once completed)." }),
    format: z.enum(EXPORT_FORMATS).openapi({ example: "csv" }),
    filters: z.record(z.string(), z.unknown()).openapi({ example: { status: ["resolved"] } }),
    options: z.object({ include_messages: z.boolean(), include_attachments: z.boolean() }).openapi({ example: { include_messages: true, include_attachments: false } }),
    total: z.number().int().openapi({ example: 1240, description: "Conversations matching the filters when the export was requested." }),
    processed: z.number().int().openapi({ example: 1240 }),
    size_mb: z.number().nullable().openapi({ example: 3.42, description: "Size of the file in MiB (2 decimals), once completed." }),
    file_id: z.string().nullable().openapi({ example: "file_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    download_url: z.string().url().nullable().openapi({ example: EXPORT_EXAMPLE.download_url, description: "Signed link to the file, valid without credentials until `expires_at` (1 hour; each read of the export gives a fresh one). Null until completed." }),
    expires_at: Timestamp.nullable().openapi({ example: "2026-11-24T13:00:00.000Z" }),
    error: z.object({ code: z.string(), message: z.string() }).nullable().openapi({ example: null, description: "Why the export failed (status `failed`)." }),
    created_at: Timestamp,
    completed_at: Timestamp.nullable().openapi({ example: "2026-11-24T12:00:04.000Z" }),
  })
  .openapi("Export", { example: EXPORT_EXAMPLE });

export const ExportAccepted = z
  .object({
    id: z.string(),
    status: z.literal("processing"),
    progress: z.literal(0),
    format: z.enum(EXPORT_FORMATS),
    created_at: Timestamp,
  })
  .openapi("ExportAccepted", { example: { id: EXP_ID, status: "processing", progress: 0, format: "csv", created_at: "2026-11-24T12:00:00.000Z" } });

export const ExportIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: EXP_ID }),
});
