// Request and response schemas of workspace tags and entity tags (shared by every area that
// tags something: contacts, sessions, conversations).
import { z } from "@hono/zod-openapi";
import { listOf, Timestamp } from "../../lib/openapi";
import { noControlChars, safeParam, storableText } from "../../lib/safe-text";

export const TagName = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(64, "Must be at most 64 characters.")
  .refine((s) => noControlChars(s) && storableText(s), "Must not contain control characters.")
  .openapi({ example: "vip" });

export const TagColor = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, "Must be a color like #1a2b3c.")
  .transform((s) => s.toLowerCase())
  .openapi({ example: "#e11d48" });

export const TagDescription = z
  .string()
  .trim()
  .max(500, "Must be at most 500 characters.")
  .refine(storableText, "Contains characters that cannot be stored (NUL or a lone surrogate).").openapi({ example: "Customers on the enterprise plan" });

export const TAG_EXAMPLE = { id: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r", name: "vip", color: "#e11d48", description: null, created_at: "2026-11-24T12:00:00.000Z", updated_at: "2026-11-24T12:00:00.000Z" };

export const Tag = z
  .object({
    id: z.string().openapi({ example: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    name: z.string().openapi({ example: "vip" }),
    color: z.string().nullable().openapi({ example: "#e11d48" }),
    description: z.string().nullable().openapi({ example: "Customers on the enterprise plan" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Tag", { example: TAG_EXAMPLE });

export const TagWithCounts = Tag.extend({
  counts: z
    .object({ contacts: z.number().int(), sessions: z.number().int(), conversations: z.number().int() })
    .openapi({ example: { contacts: 12, sessions: 3, conversations: 40 }, description: "How many entities of each kind carry the tag." }),
}).openapi("TagWithCounts", { example: { ...TAG_EXAMPLE, counts: { contacts: 12, sessions: 3, conversations: 40 } } });

export const CreateTagBody = z
  .object({ name: TagName, color: TagColor.nullish(), description: TagDescription.nullish() })
  .openapi("CreateTag", { example: { name: "vip", color: "#e11d48", description: "Customers on the enterprise plan" } });

export const UpdateTagBody = z
  .object({ name: TagName.optional(), color: TagColor.nullish(), description: TagDescription.nullish() })
  .openapi("UpdateTag", { example: { color: "#16a34a", description: null } });

/** `POST /v1/{contacts|sessions|conversations}/{id}/tags` */
export const EntityTagBody = z
  .object({ tag: TagName.openapi({ description: "Tag name; an unknown name creates the workspace tag." }) })
  .openapi("EntityTag", { example: { tag: "vip" } });

export const TagParam = z.object({
  tag: safeParam(200)
    .min(1)
    .openapi({ param: { name: "tag", in: "path" }, example: "vip", description: "Tag name (case-insensitive) or tag id." }),
});

export const TagIdParam = z.object({
  id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
});

/** A list envelope schema whose OpenAPI example shows one item, meta and links. */
export function listWithExample<T extends z.ZodType>(item: T, example: unknown, path: string) {
  const link = (page: number) => `https://api.parley.example${path}?page=${page}&per_page=20`;
  return listOf(item).openapi({
    example: {
      data: [example],
      meta: { page: 1, per_page: 20, total: 1, total_pages: 1 },
      links: { first: link(1), last: link(1), prev: null, next: null },
    },
  });
}

export const DeletedTag = z
  .object({ deleted: z.literal(true), id: z.string() })
  .openapi("DeletedTag", { example: { deleted: true, id: "tag_01jd3k9v6q8f2m4x7c5b0n1p2r" } });
