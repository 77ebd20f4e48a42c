// Request and response schemas of the chat function: assistants, streaming chat, polling chat.
import { z } from "@hono/zod-openapi";
import { Message } from "../conversations/schemas";
import { Timestamp } from "../../lib/openapi";

export const MAX_MESSAGE = 32_000;
export const MAX_INSTRUCTIONS = 20_000;
export const MAX_KNOWLEDGE = 100_000;

/** `{name}` path parameter with an example id of `prefix`. */
export const PathId = <N extends string>(name: N, prefix: string) =>
  z.object({ [name]: z.string().min(1).max(200).openapi({ param: { name, in: "path" }, example: `${prefix}_01jd3k9v6q8f2m4x7c5b0n1p2r` }) } as Record<N, z.ZodString>);

// ---- assistants ----

export const Assistant = z
  .object({
    id: z.string().openapi({ example: "ast_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    name: z.string().openapi({ example: "Support bot" }),
    instructions: z.string().openapi({ example: "You answer questions about Acme's orders, politely and briefly." }),
    model: z.string().nullable().openapi({ example: null, description: "null: the server's default model (OPENAI_MODEL, or parley-offline)." }),
    temperature: z.number().nullable().openapi({ example: 0.3 }),
    knowledge: z.string().nullable().openapi({ example: "Refunds are processed within 5 business days." }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Assistant");

const name = z.string().trim().min(1).max(200).openapi({ example: "Support bot" });
const instructions = z.string().trim().min(1).max(MAX_INSTRUCTIONS).openapi({ example: "You answer questions about Acme's orders, politely and briefly." });
const model = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .nullable()
  .openapi({ example: "gpt-4o-mini", description: "One of the server's allowed models (OPENAI_ALLOWED_MODELS; by default gpt-4o-mini, gpt-4o, gpt-4.1-nano, gpt-4.1-mini, gpt-4.1 and the default model), else 422 listing them; null: the default model." });
const temperature = z.number().min(0).max(2).nullable().openapi({ example: 0.3 });
const knowledge = z.string().max(MAX_KNOWLEDGE).nullable().openapi({ example: "Refunds are processed within 5 business days. Shipping is free over $50." });

export const CreateAssistantBody = z
  .object({ name, instructions, model: model.optional(), temperature: temperature.optional(), knowledge: knowledge.optional() })
  .openapi("CreateAssistant");

export const UpdateAssistantBody = z
  .object({ name: name.optional(), instructions: instructions.optional(), model: model.optional(), temperature: temperature.optional(), knowledge: knowledge.optional() })
  .openapi("UpdateAssistant");

// ---- chat ----

const message = z.string().trim().min(1).max(MAX_MESSAGE).openapi({ example: "How long do refunds take?" });

export const StreamBody = z
  .object({
    message,
    conversation_id: z.string().min(1).max(200).optional().openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    session_id: z.string().min(1).max(200).optional().openapi({ example: "ses_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    assistant_id: z.string().min(1).max(200).optional().openapi({ example: "ast_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  })
  .refine((b) => !(b.conversation_id && b.session_id), { message: "Give conversation_id or session_id, not both.", path: ["session_id"] })
  .openapi("ChatStreamRequest");

export const StartBody = z
  .object({
    assistant_id: z.string().min(1).max(200).openapi({ example: "ast_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    contact: z
      .object({
        identifier: z.string().trim().min(1).max(254).openapi({ example: "ada@example.com", description: "An email, a phone number, or your own id for the visitor." }),
        name: z.string().trim().min(1).max(200).optional().openapi({ example: "Ada Lovelace" }),
      })
      .optional(),
  })
  .openapi("ChatStart");

export const Started = z
  .object({
    session_id: z.string().openapi({ example: "ses_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    conversation_id: z.string().openapi({ example: "conv_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
    contact_id: z.string().nullable().openapi({ example: "ct_01jd3k9v6q8f2m4x7c5b0n1p2r" }),
  })
  .openapi("ChatStarted");

export const SendBody = z.object({ message }).openapi("ChatMessageRequest");

export const TaskAccepted = z
  .object({ task_id: z.string().openapi({ example: "task_01jd3k9v6q8f2m4x7c5b0n1p2r" }), status: z.literal("processing") })
  .openapi("ChatTaskAccepted");

// Chat messages are conversation messages: one shape across the API.
const ChatMessage = Message;

export const TaskPoll = z
  .object({
    task_id: z.string(),
    status: z.enum(["processing", "complete", "error"]),
    message: ChatMessage.optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .openapi("ChatTaskPoll");

export const PollQuery = z.object({
  since: z.string().datetime({ offset: true }).optional().openapi({ example: "2026-11-24T12:00:00.000Z", description: "Only messages created after this instant (the `next_since` of the previous poll)." }),
});

export const PollResult = z
  .object({
    data: z.array(ChatMessage),
    next_since: Timestamp.nullable().openapi({ description: "Pass as `since` next time (null when nothing was returned: keep your `since`)." }),
  })
  .openapi("ChatPoll");
