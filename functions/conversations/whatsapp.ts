// WhatsApp's rules for what an agent may send: free text only inside the 24-hour
// customer-service window (since the customer's last message on that number), templates any time.
import { and, eq, max, or } from "drizzle-orm";
import type { Db } from "../../lib/db";
import { ApiError } from "../../lib/errors";
import { conversations, messages } from "../../schema";
import type { SendInput } from "./messages.service";
import type { ConversationRow } from "./service";

export const MESSAGING_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface TemplateBody {
  name: string;
  language: string;
  parameters?: string[];
}

export interface SendBodyWithTemplate extends Omit<SendInput, "content"> {
  content?: string;
  template?: TemplateBody;
}

/**
 * When the customer last wrote on this channel: their latest WhatsApp message in this
 * conversation or in any other of theirs on the same channel (Meta's window is per customer
 * and business number, not per conversation).
 */
export async function lastCustomerMessageAt(db: Db, conv: ConversationRow): Promise<Date | null> {
  const sameThread =
    conv.contactId && conv.channelId
      ? or(eq(messages.conversationId, conv.id), and(eq(conversations.contactId, conv.contactId), eq(conversations.channelId, conv.channelId)))
      : eq(messages.conversationId, conv.id);
  const [row] = await db
    .select({ at: max(messages.createdAt) })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(eq(messages.workspaceId, conv.workspaceId), eq(conversations.workspaceId, conv.workspaceId), eq(messages.senderType, "contact"), eq(messages.source, "whatsapp"), sameThread));
  const at = row?.at as Date | string | null | undefined;
  return at ? new Date(at) : null;
}

/** A readable content for a template message (Parley does not hold the template's text). */
export const templateContent = (t: TemplateBody) => `[template ${t.name} (${t.language})]${t.parameters?.length ? ` ${t.parameters.join(" · ")}` : ""}`;

/**
 * Checks a message for a conversation before it is stored, and turns a template into what is
 * stored. On a WhatsApp conversation, agent free text outside the window is a 409
 * `outside_messaging_window`; a template is allowed any time, and only there.
 */
export async function prepareSend(db: Db, conv: ConversationRow, body: SendBodyWithTemplate, now = new Date()): Promise<SendInput & { metadata?: Record<string, unknown> }> {
  const { template, content, ...rest } = body;
  if (template) {
    if (conv.source !== "whatsapp") {
      throw new ApiError("validation_error", "The request body is invalid.", { details: { fields: { template: ["Templates can only be sent on WhatsApp conversations."] } } });
    }
    const t = { name: template.name, language: template.language, ...(template.parameters?.length ? { parameters: template.parameters } : {}) };
    return { ...rest, content: templateContent(t), metadata: { whatsapp: { template: t } } };
  }
  if (conv.source === "whatsapp" && body.sender_type === "agent") {
    const last = await lastCustomerMessageAt(db, conv);
    if (!last || now.getTime() - last.getTime() > MESSAGING_WINDOW_MS) {
      throw new ApiError(
        "conflict",
        last
          ? "The customer last wrote more than 24 hours ago: outside WhatsApp's customer-service window only a template message can be sent."
          : "The customer has not written on WhatsApp yet: only a template message can start the conversation.",
        {
          details: {
            reason: "outside_messaging_window",
            last_customer_message_at: last ? last.toISOString() : null,
            window_closed_at: last ? new Date(last.getTime() + MESSAGING_WINDOW_MS).toISOString() : null,
          },
        },
      );
    }
  }
  return { ...rest, content: content! };
}
