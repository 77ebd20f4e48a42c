// Request and response schemas of the identity function.
import { z } from "@hono/zod-openapi";
import { Timestamp, text } from "../../lib/openapi";

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
    name: text(200).openapi({ example: "Acme Support" }),
    owner: z.object({ name: text(200).openapi({ example: "Ada Lovelace" }), email: Email, password: Password }),
  })
  .openapi("SignUp");

export const SignUpResult = TokenPair.extend({ workspace: Workspace, agent: Agent }).openapi("SignUpResult");

export const Credentials = z.object({ email: Email, password: z.string().min(1).max(200) }).openapi("Credentials");
export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(500) }).openapi("RefreshRequest");
