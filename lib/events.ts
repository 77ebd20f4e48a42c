// Writes a domain event inside the caller's transaction, so the event exists exactly when
// the change it describes does.
import type { Principal } from "./auth";
import type { Db } from "./db";
import { newId } from "./ids";
import { events } from "../schema/events";

export const EVENT_TYPES = [
  "conversation.created",
  "conversation.updated",
  "conversation.status_changed",
  "conversation.assigned",
  "conversation.deleted",
  "message.created",
  "contact.created",
  "contact.updated",
  "contact.deleted",
  "contact.merged",
  "session.created",
  "session.updated",
  "tag.added",
  "tag.removed",
  "summary.requested",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const actorOf = (p: Pick<Principal, "agentId" | "apiKeyId"> | null | undefined): string => p?.agentId ?? p?.apiKeyId ?? "system";

export async function recordEvent(
  tx: Db,
  workspaceId: string,
  type: EventType,
  entity: { type: string; id: string },
  actor: string,
  data: Record<string, unknown> = {},
): Promise<string> {
  const id = newId("evt");
  await tx.insert(events).values({ id, workspaceId, type, entityType: entity.type, entityId: entity.id, actor, data });
  return id;
}
