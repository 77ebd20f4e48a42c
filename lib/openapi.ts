// Shared OpenAPI/zod building blocks: JSON bodies and responses, list envelopes, ids.
import { z } from "@hono/zod-openapi";

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const jsonBody = <T extends z.ZodType>(schema: T, description = "JSON body") => ({
  content: { "application/json": { schema } },
  description,
  required: true,
});

export const PaginationMeta = z
  .object({
    page: z.number().int(),
    per_page: z.number().int(),
    total: z.number().int(),
    total_pages: z.number().int(),
  })
  .openapi("PaginationMeta");

export const PaginationLinks = z
  .object({
    first: z.string().url(),
    last: z.string().url(),
    prev: z.string().url().nullable(),
    next: z.string().url().nullable(),
  })
  .openapi("PaginationLinks");

export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), meta: PaginationMeta, links: PaginationLinks });

export const idParam = (prefix: string, name = "id") =>
  z.object({
    [name]: z.string().min(1).max(200).openapi({ param: { name, in: "path" }, example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` }),
  });

/**
 * `schema | null` for a named schema (one with `.openapi("Name")`): use it instead of
 * `.nullable()` on such a schema. zod-to-openapi renders `Named.nullable()` as
 * `allOf: [$ref, {type: [object, null]}]`, an intersection that generated clients read as never
 * null; with `.openapi({...})` added it drops the null altogether; and when the nullable use is
 * the first one it meets, it writes `null` into the named component itself. A union renders as
 * `anyOf: [$ref, {type: "null"}]`, which every tool reads as "this or null".
 */
export const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);

export const Deleted = z.object({ deleted: z.literal(true), id: z.string() }).openapi("Deleted");

export const Timestamp = z.string().datetime().openapi({ example: "2026-11-24T12:00:00.000Z" });

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** A trimmed, non-empty string with a length cap (every free-text field has one). */
export const text = (max: number) => z.string().trim().min(1).max(max);
