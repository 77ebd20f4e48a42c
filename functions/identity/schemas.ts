// Request and response schemas of the identity function.
import { z } from "@hono/zod-openapi";
import { orNull, Timestamp, text } from "../../lib/openapi";
import { noControlChars, safeParam, storableText } from "../../lib/safe-text";

/** A display name: trimmed, capped, and free of characters Postgres or a UI would choke on. */
const displayName = (max: number) =>
  text(max)
    .refine(storableText, "Contains characters that cannot be stored (NUL or a lone surrogate).")
    .refine((s) => noControlChars(s), "Must not contain control characters.");

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "Must be a valid email address." }))
  .openapi({ example: "ada@example.com" });
export const Password = z.string().min(8, "Must be at least 8 characters.").max(200).openapi({ example: "correct horse battery staple" });
export const RoleEnum = z.enum(["owner", "admin", "agent"]).openapi({ example: "agent" });

export const Workspace = z
  .object({
    id: z.string().openapi({ example: "ws_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    name: z.string().openapi({ example: "Acme Support" }),
    plan: z.string().openapi({ example: "free" }),
    settings: z.object({
      timezone: z.string().openapi({ example: "UTC" }),
      search_language: z.enum(["english", "simple"]).openapi({ example: "english" }),
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Workspace");

export const Agent = z
  .object({
    id: z.string().openapi({ example: "agt_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    workspace_id: z.string(),
    name: z.string().openapi({ example: "Ada Lovelace" }),
    email: z.string().openapi({ example: "ada@example.com" }),
    role: RoleEnum,
    last_login_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Agent");

export const TokenPair = z
  .object({
    access_token: z.string().openapi({ example: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…" }),
    refresh_token: z.string().openapi({ example: "rt_Jc2p9…" }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ example: 900, description: "Seconds until the access token expires." }),
  })
  .openapi("TokenPair");

export const SignUpBody = z
  .object({
    name: displayName(200).openapi({ example: "Acme Support" }),
    owner: z.object({ name: displayName(200).openapi({ example: "Ada Lovelace" }), email: Email, password: Password }),
  })
  .openapi("SignUp");

export const SignUpResult = TokenPair.extend({ workspace: Workspace, agent: Agent }).openapi("SignUpResult");

export const Credentials = z.object({ email: Email, password: z.string().min(1).max(200) }).openapi("Credentials");
export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(500) }).openapi("RefreshRequest");

// ---- API keys ----

export const ScopeEnum = z.enum(["read", "write", "admin"]).openapi({ example: "read" });

export const ApiKey = z
  .object({
    id: z.string().openapi({ example: "key_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    name: z.string().openapi({ example: "Zapier integration" }),
    prefix: z.string().openapi({ example: "pk_live_Xk3q", description: "The first 12 characters of the key, to recognise it." }),
    scopes: z.array(ScopeEnum).openapi({ example: ["read", "write"] }),
    created_at: Timestamp,
    last_used_at: Timestamp.nullable(),
    expires_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKey = ApiKey.extend({
  key: z.string().openapi({ example: "pk_live_Xk3qP0f8x2…", description: "The full key. Shown only in this response; Parley keeps only its SHA-256." }),
}).openapi("CreatedApiKey");

export const CreateApiKeyBody = z
  .object({
    name: displayName(100).openapi({ example: "Zapier integration" }),
    scopes: z
      .array(ScopeEnum)
      .min(1, "Give at least one scope.")
      .max(3)
      .optional()
      .openapi({ example: ["read", "write"], description: 'Defaults to `["read", "write"]`.' }),
    expires_at: z.iso
      .datetime({ offset: true, message: "Must be an ISO 8601 date-time." })
      .optional()
      .openapi({ example: "2027-01-01T00:00:00Z", description: "When the key stops working; must be in the future. Omit for no expiry." }),
  })
  .openapi("CreateApiKey");

// ---- Agents ----

export const CreateAgentBody = z
  .object({
    name: displayName(200).openapi({ example: "Grace Hopper" }),
    email: Email,
    password: Password,
    role: RoleEnum.optional().openapi({ description: "Defaults to `agent`. Only an owner may create an owner." }),
  })
  .openapi("CreateAgent");

export const RoleBody = z.object({ role: RoleEnum }).openapi("ChangeRole");

// ---- Settings ----

export const UpdateWorkspaceBody = z
  .object({
    name: displayName(200).optional().openapi({ example: "Acme Support" }),
    settings: z
      .strictObject({
        timezone: z
          .string()
          .min(1)
          .max(64)
          .refine(isTimeZone, "Must be an IANA time zone such as `Europe/Paris`.")
          .optional()
          .openapi({ example: "Europe/Paris" }),
        search_language: z.enum(["english", "simple"]).optional().openapi({ example: "english" }),
      })
      .optional()
      .openapi({ description: "Merged key by key into the current settings; keys not sent keep their value." }),
  })
  .openapi("UpdateWorkspace");

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ChangePasswordBody = z
  .object({
    current_password: z.string().min(1).max(200).openapi({ example: "correct horse battery staple" }),
    new_password: Password,
  })
  .openapi("ChangePassword");

export const PasswordChanged = z
  .object({
    password_changed: z.literal(true),
    tokens: orNull(TokenPair).openapi({
      description: "For a JWT caller, a fresh pair (every refresh token of the agent was revoked); null for a cookie caller, whose session stays.",
    }),
  })
  .openapi("PasswordChanged");

export const Me = z
  .object({
    workspace: Workspace,
    agent: orNull(Agent).openapi({ description: "The signed-in agent; null for an API key, which acts for the workspace." }),
    auth: z.object({
      via: z.enum(["api_key", "jwt", "cookie"]),
      role: RoleEnum,
      scopes: z.array(ScopeEnum),
      api_key_id: z.string().nullable(),
    }),
  })
  .openapi("Me");

/** `{id}` path parameter (lib/openapi's idParam loses the key's type under a computed name). */
export const IdParam = (prefix: string) =>
  z.object({ id: safeParam(200).openapi({ param: { name: "id", in: "path" }, example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` }) });
