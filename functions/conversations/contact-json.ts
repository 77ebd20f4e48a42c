// The contact embedded in GET /v1/conversations/{id}, in the contacts area's shape. Kept here
// until functions/contacts/service.ts exports `contactJson`; then this re-exports that one.
import { iso } from "../../lib/openapi";
import type { contacts } from "../../schema";

export function contactJson(row: typeof contacts.$inferSelect) {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    phone: row.phone,
    attributes: row.attributes,
    last_seen_at: iso(row.lastSeenAt),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
