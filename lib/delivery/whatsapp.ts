// The WhatsApp part of the deliveries job: sends one queued agent message of a WhatsApp
// conversation through Graph with the channel's token, and records what Graph said. Rejections
// (131047 outside the 24 h window, 131026 undeliverable, a bad template) fail the message; an
// expired token (190) also puts the channel in `status: "error"`; Graph outages throw, so the job
// answers 5xx and QStash retries (the message stays queued meanwhile: nothing is lost).
import { and, eq } from "drizzle-orm";
import { applyStatus, channelSecret, takeEarlyStatus } from "../../functions/inbound/whatsapp.service";
import { contacts, type channels, type conversations, type messages } from "../../schema";
import type { Tx } from "../db";
import { DependencyError } from "../errors";
import type { Services } from "../services";
import { type OutboundWhatsApp, sendWhatsApp, type TemplateInput, waIdOf } from "../whatsapp";
import { channelError, messageFailed, messageSent } from "./outcome";

type MessageRow = typeof messages.$inferSelect;
type ConversationRow = typeof conversations.$inferSelect;
type ChannelRow = typeof channels.$inferSelect;

export interface WhatsAppDelivery {
  message: MessageRow;
  conversation: Pick<ConversationRow, "id" | "workspaceId" | "contactId" | "channelId" | "metadata">;
  /** The conversation's channel; undefined when it was deleted. */
  channel: ChannelRow | undefined;
}

/** The template an agent message carries (metadata.whatsapp.template), if any. */
export function templateOf(m: Pick<MessageRow, "metadata">): TemplateInput | undefined {
  const t = (m.metadata?.whatsapp as { template?: TemplateInput } | undefined)?.template;
  return t && typeof t.name === "string" && typeof t.language === "string" ? t : undefined;
}

async function fail(tx: Tx, m: MessageRow, code: string, message: string) {
  await messageFailed(tx, m.workspaceId, m.id, { code, message });
  return { outcome: "failed", code };
}

/** Who the conversation talks to: its wa_id, else its contact's phone. */
async function recipientOf(tx: Tx, d: WhatsAppDelivery): Promise<string | undefined> {
  const fromMeta = (d.conversation.metadata?.whatsapp as { wa_id?: unknown } | undefined)?.wa_id;
  if (typeof fromMeta === "string" && fromMeta) return waIdOf(fromMeta);
  if (!d.conversation.contactId) return undefined;
  const [ct] = await tx
    .select({ phone: contacts.phone, attributes: contacts.attributes })
    .from(contacts)
    .where(and(eq(contacts.id, d.conversation.contactId), eq(contacts.workspaceId, d.conversation.workspaceId)))
    .limit(1);
  const waId = (ct?.attributes as { wa_id?: unknown } | undefined)?.wa_id;
  if (typeof waId === "string" && waIdOf(waId)) return waIdOf(waId);
  return ct?.phone ? waIdOf(ct.phone) || undefined : undefined;
}

/**
 * Sends `d.message` if it is still queued. The caller holds the message row (claimed with a
 * conditional UPDATE in this transaction), so a concurrent delivery waits and then finds it sent.
 */
export async function deliverWhatsApp(tx: Tx, services: Services, d: WhatsAppDelivery): Promise<Record<string, unknown>> {
  const m = d.message;
  // Sent already (a redelivered job), or failed for good: nothing to do.
  if (m.deliveryStatus !== "queued") return { outcome: "skipped", delivery_status: m.deliveryStatus };
  const ch = d.channel;
  if (ch?.type !== "whatsapp" || ch.workspaceId !== m.workspaceId) {
    return fail(tx, m, "channel_missing", "The conversation's WhatsApp channel no longer exists.");
  }
  const token = channelSecret(ch, "access_token");
  const phoneNumberId = ch.inboundKey ?? (typeof ch.config.phone_number_id === "string" ? ch.config.phone_number_id : undefined);
  if (!token || !phoneNumberId) return fail(tx, m, "channel_misconfigured", "The WhatsApp channel has no access_token or phone_number_id.");
  const to = await recipientOf(tx, d);
  if (!to) return fail(tx, m, "no_recipient", "The conversation's contact has no WhatsApp number.");

  const template = templateOf(m);
  const outbound: OutboundWhatsApp = template ? { type: "template", template } : { type: "text", text: m.content };
  const outcome = await sendWhatsApp({ graphUrl: services.config.whatsapp.graphUrl, phoneNumberId, accessToken: token, to, message: outbound });

  switch (outcome.kind) {
    case "sent": {
      await messageSent(tx, m.workspaceId, m.id, outcome.wamid);
      // A status webhook may have come before this commit (see rememberEarlyStatus).
      const early = await takeEarlyStatus(services.kv, m.workspaceId, outcome.wamid).catch(() => undefined);
      if (early) await applyStatus(tx, m.workspaceId, early);
      return { outcome: "sent", wamid: outcome.wamid };
    }
    case "rejected":
      return { ...(await fail(tx, m, outcome.code, outcome.message)), graph_code: outcome.graph.code };
    case "unauthorized": {
      await channelError(tx, ch.workspaceId, ch.id, outcome.message);
      return { ...(await fail(tx, m, outcome.code, outcome.message)), graph_code: outcome.graph.code, channel_status: "error" };
    }
    case "retry":
      // The job answers 5xx and QStash delivers it again later; the message stays queued.
      throw new DependencyError(`whatsapp: ${outcome.reason}`);
  }
}
