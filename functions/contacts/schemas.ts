// Request and response schemas of contacts and sessions.
import { z } from "@hono/zod-openapi";
import { paginationQuery, sortQuery } from "../../lib/pagination";
import { Timestamp } from "../../lib/openapi";
import { noControlChars, safeParam, storableJson, storableText } from "../../lib/safe-text";
import { TAG_EXAMPLE, Tag } from "../tags/schemas";

export const CONTACT_SORTS = ["created_at", "updated_at", "name"] as const;
export const SESSION_SORTS = ["created_at", "updated_at", "last_activity_at"] as const;

export const ContactName = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(200, "Must be at most 200 characters.")
  .refine((s) => noControlChars(s) && storableText(s), "Must not contain control characters.")
  .openapi({ example: "Grace Hopper" });

export const ContactEmail = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "Must be at most 254 characters.")
  .pipe(z.email({ message: "Must be a valid email address." }))
  .openapi({ example: "grace@example.com", description: "Stored lower-case; unique per workspace." });

/** Phone numbers are kept E.164-ish: spaces, dashes, dots and parentheses dropped, a leading + kept. */
export const normalizePhone = (raw: string) => raw.trim().replace(/[\s\-().]/g, "");

export const ContactPhone = z
  .string()
  .max(40, "Must be at most 40 characters.")
  .transform(normalizePhone)
  .pipe(z.string().regex(/^\+?[0-9]{3,20}$/, "Must be a phone number: digits, optionally a leading +, 3 to 20 digits."))
  .openapi({ example: "+14155550100", description: "Normalized (spaces, dashes, dots, parentheses removed); unique per workspace." });

/** Free-form key/value data; in PATCH a `null` value removes the key. */
const attributeMap = () =>
  z
    .record(z.string().min(1, "Keys must not be empty.").max(100, "Keys must be at most 100 characters."), z.unknown())
    .refine((o) => Object.keys(o).length <= 100, "At most 100 keys.")
    .refine((o) => JSON.stringify(o).length <= 16_384, "At most 16 KiB of JSON.")
    .refine((o) => storableJson(o), "Contains characters that cannot be stored (NUL or a lone surrogate).");

export const Attributes = attributeMap().openapi({ example: { plan: "enterprise", seats: 40 } });
export const AttributesPatch = attributeMap().openapi({
  example: { plan: "pro", legacy_id: null },
  description: "Merged key by key into the stored object; a `null` value removes that key.",
});

export const CONTACT_EXAMPLE = {
  id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r",
  name: "Grace Hopper",
  email: "grace@example.com",
  phone: "+14155550100",
  attributes: { plan: "enterprise" },
  tags: [TAG_EXAMPLE],
  last_seen_at: "2026-11-24T12:30:00.000Z",
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:30:00.000Z",
};

export const Contact = z
  .object({
    id: z.string().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    name: z.string().nullable().openapi({ example: "Grace Hopper" }),
    email: z.string().nullable().openapi({ example: "grace@example.com" }),
    phone: z.string().nullable().openapi({ example: "+14155550100" }),
    attributes: z.record(z.string(), z.unknown()).openapi({ example: { plan: "enterprise" } }),
    tags: z.array(Tag).optional(),
    last_seen_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Contact", { example: CONTACT_EXAMPLE });

export const CreateContactBody = z
  .object({
    name: ContactName.nullish(),
    email: ContactEmail.nullish(),
    phone: ContactPhone.nullish(),
    attributes: Attributes.optional(),
  })
  .openapi("CreateContact", { example: { name: "Grace Hopper", email: "grace@example.com", phone: "+1 (415) 555-0100", attributes: { plan: "enterprise" } } });

export const UpdateContactBody = z
  .object({
    name: ContactName.nullish(),
    email: ContactEmail.nullish(),
    phone: ContactPhone.nullish(),
    attributes: AttributesPatch.optional(),
  })
  .openapi("UpdateContact", { example: { name: "Grace B. Hopper", attributes: { plan: "pro", legacy_id: null } } });

export const MergeBody = z
  .object({ mergee_id: safeParam(200).min(1).openapi({ example: "ct_01jd3m0a1b2c3d4e5f6g7h8j9k", description: "The contact merged into this one and then deleted." }) })
  .openapi("MergeContacts");

export const ContactListQuery = paginationQuery.extend({
  search: safeParam(200).optional().openapi({ example: "grace", description: "Case-insensitive substring of name, email or phone." }),
  tag: safeParam(200).optional().openapi({ example: "vip", description: "Only contacts carrying this tag (name, case-insensitive)." }),
  sort: sortQuery(CONTACT_SORTS, "-created_at"),
});

export const SESSION_EXAMPLE = {
  id: "ses_01jd3k9v6q8f2m4x7c5b0n1p2r",
  contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r",
  source: "web",
  metadata: { page: "/pricing" },
  tags: [],
  last_activity_at: "2026-11-24T12:30:00.000Z",
  created_at: "2026-11-24T12:00:00.000Z",
  updated_at: "2026-11-24T12:30:00.000Z",
};

export const Session = z
  .object({
    id: z.string().openapi({ example: "ses_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    contact_id: z.string().nullable().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    source: z.string().openapi({ example: "web" }),
    metadata: z.record(z.string(), z.unknown()).openapi({ example: { page: "/pricing", referrer: "https://news.example.com" } }),
    tags: z.array(Tag).optional(),
    last_activity_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Session", { example: SESSION_EXAMPLE });

export const SessionSource = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z0-9_.:-]+$/, "Letters, digits and _ . : - only.")
  .openapi({ example: "web" });

export const CreateSessionBody = z
  .object({
    contact_id: safeParam(200).min(1).nullish().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    source: SessionSource.optional(),
    metadata: Attributes.optional().openapi({ example: { page: "/pricing", user_agent: "Mozilla/5.0" } }),
  })
  .openapi("CreateSession", { example: { source: "web", metadata: { page: "/pricing" } } });

export const UpdateSessionBody = z
  .object({
    contact_id: safeParam(200)
      .min(1)
      .nullable()
      .optional()
      .openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r", description: "Link to this contact; `null` unlinks." }),
    metadata: AttributesPatch.optional(),
  })
  .openapi("UpdateSession", { example: { contact_id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r", metadata: { plan_viewed: "pro" } } });

export const IdentifyBody = z
  .object({
    email: ContactEmail.nullish(),
    phone: ContactPhone.nullish(),
    name: ContactName.nullish(),
    attributes: Attributes.optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.email && !b.phone) ctx.addIssue({ code: "custom", path: ["email"], message: "Give an email or a phone." });
  })
  .openapi("IdentifySession", { example: { email: "grace@example.com", name: "Grace Hopper", attributes: { plan: "enterprise" } } });

export const IdentifyResult = z
  .object({ session: Session, contact: Contact, contact_created: z.boolean().openapi({ example: false }) })
  .openapi("IdentifyResult");

export const SessionListQuery = paginationQuery.extend({
  contact_id: safeParam(200).optional().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  tag: safeParam(200).optional().openapi({ example: "returning", description: "Only sessions carrying this tag (name, case-insensitive)." }),
  sort: sortQuery(SESSION_SORTS, "-created_at"),
});

export const ContactSessionsQuery = paginationQuery.extend({ sort: sortQuery(SESSION_SORTS, "-created_at") });

/** `{id}` path parameter (typed; odd ids are simply not found, overlong ones a 400). */
export const IdParam = (prefix: "ct" | "ses") =>
  z.object({ id: safeParam(200).min(1).openapi({ param: { name: "id", in: "path" }, example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` }) });

export const DeletedContact = z
  .object({ deleted: z.literal(true), id: z.string() })
  .openapi("DeletedContact", { example: { deleted: true, id: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" } });
