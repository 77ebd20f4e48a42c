// `page`/`per_page` query parsing, `sort` parsing and the list envelope with absolute links
// that keep every other query parameter.
import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";

export const MAX_PER_PAGE = 100;

export const paginationQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ example: 1, description: "Page number, from 1." }),
  per_page: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PER_PAGE)
    .default(20)
    .openapi({ example: 20, description: `Items per page, 1 to ${MAX_PER_PAGE}.` }),
});

export interface Page {
  page: number;
  per_page: number;
}

export const offsetOf = (p: Page) => (p.page - 1) * p.per_page;

export function listEnvelope<T>(requestUrl: string, p: Page, total: number, data: T[], publicBaseUrl?: string) {
  const totalPages = Math.max(1, Math.ceil(total / p.per_page));
  const url = new URL(requestUrl);
  if (publicBaseUrl) {
    const base = new URL(publicBaseUrl);
    url.protocol = base.protocol;
    url.host = base.host;
  }
  const link = (page: number) => {
    const u = new URL(url);
    u.searchParams.set("page", String(page));
    u.searchParams.set("per_page", String(p.per_page));
    return u.toString();
  };
  return {
    data,
    meta: { page: p.page, per_page: p.per_page, total, total_pages: totalPages },
    links: {
      first: link(1),
      last: link(totalPages),
      prev: p.page > 1 ? link(Math.min(p.page - 1, totalPages)) : null,
      next: p.page < totalPages ? link(p.page + 1) : null,
    },
  };
}

export interface SortSpec<F extends string> {
  field: F;
  direction: "asc" | "desc";
}

/** Parses `field` / `-field`; anything not allowed is a 400 naming the choices. */
export function parseSort<F extends string>(value: string | undefined, allowed: readonly F[], fallback: `${"" | "-"}${F}`): SortSpec<F> {
  const raw = value ?? fallback;
  const desc = raw.startsWith("-");
  const field = (desc ? raw.slice(1) : raw) as F;
  if (!allowed.includes(field)) {
    throw new ApiError("bad_request", `sort must be one of ${allowed.flatMap((f) => [f, `-${f}`]).join(", ")}.`, {
      details: { fields: { sort: [`Unknown sort field '${raw.slice(0, 50)}'.`] } },
    });
  }
  return { field, direction: desc ? "desc" : "asc" };
}

export const sortQuery = (allowed: readonly string[], fallback: string) =>
  z
    .string()
    .max(64)
    .optional()
    .openapi({ description: `Sort field, \`-\` prefix for descending: ${allowed.join(", ")}. Default \`${fallback}\`.`, example: fallback });
