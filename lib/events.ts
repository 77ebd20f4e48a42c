// Writes a domain event inside the caller's transaction, so the event exists exactly when
// the change it describes does. Each request (or job run) runs in an event scope
// (lib/event-dispatch.ts): the events it records are fanned out to webhooks and automations
// right after it, and an automation's own actions record their events one hop deeper.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Principal } from "./auth";
import type { Db } from "./db";
import { newId } from "./ids";
import { events } from "../schema/events";

export const EVENT_TYPES = [
  "conversation.created",
  "conversation.updated",
  "conversation.status_changed",
  "conversation.assigned",
  "conversation.tagged",
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
  "summary.completed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const actorOf = (p: Pick<Principal, "agentId" | "apiKeyId"> | null | undefined): string => p?.agentId ?? p?.apiKeyId ?? "system";

/** What one request or job run recorded, for the dispatcher to fan out once it is done. */
export interface EventScope {
  /** Ids of events recorded through recordEvent. */
  ids: string[];
  /** Workspaces with events written some other way (SQL functions, batch inserts). */
  workspaces: Set<string>;
  /** The automation depth of the events recorded in this scope. */
  depth: number;
  /** Work to start once the request's (or job run's) transaction has committed. */
  afterCommit: Array<() => Promise<unknown>>;
}

const scopes = new AsyncLocalStorage<EventScope>();

export const newEventScope = (depth = 0): EventScope => ({ ids: [], workspaces: new Set(), depth, afterCommit: [] });

/** Runs `fn` with `scope` as the current event scope. */
export function runInEventScope<T>(scope: EventScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/**
 * Runs `fn` one automation hop deeper than `depth`: what it records carries `depth + 1`, and
 * is still reported to the enclosing scope (so it is dispatched after the run commits).
 */
export function runAtDepth<T>(depth: number, fn: () => T): T {
  const outer = scopes.getStore();
  const inner: EventScope = { ids: outer?.ids ?? [], workspaces: outer?.workspaces ?? new Set(), depth, afterCommit: outer?.afterCommit ?? [] };
  return scopes.run(inner, fn);
}

/** For code that inserts event rows itself: tells the dispatcher to look in this workspace. */
export function noteEvents(workspaceId: string): void {
  scopes.getStore()?.workspaces.add(workspaceId);
}

/**
 * Runs `fn` in the background once the enclosing request or job run has succeeded (its
 * transaction committed): e.g. publishing a job for a row written in that transaction. Returns
 * false outside a scope (the caller then does it itself).
 */
export function afterCommit(fn: () => Promise<unknown>): boolean {
  const scope = scopes.getStore();
  if (!scope) return false;
  scope.afterCommit.push(fn);
  return true;
}

const batches = new WeakMap<EventScope["afterCommit"], Map<string, unknown[]>>();

/**
 * Like afterCommit, for work that goes better together: every `item` given under `name` in the
 * same request or job run is handed to one `flush` call once it has committed (e.g. one QStash
 * batch request for a sweep's 10,000 deliveries instead of 10,000 publishes). False outside a scope.
 */
export function afterCommitBatched<T>(name: string, item: T, flush: (items: T[]) => Promise<unknown>): boolean {
  const scope = scopes.getStore();
  if (!scope) return false;
  // Keyed by the afterCommit list, which runAtDepth's inner scopes share with their outer one.
  let byName = batches.get(scope.afterCommit);
  if (!byName) {
    byName = new Map();
    batches.set(scope.afterCommit, byName);
  }
  let items = byName.get(name) as T[] | undefined;
  if (!items) {
    const list: T[] = [];
    items = list;
    byName.set(name, list);
    scope.afterCommit.push(() => flush(list));
  }
  items.push(item);
  return true;
}

/** The depth events recorded now get (0 outside automations). */
export const currentEventDepth = (): number => scopes.getStore()?.depth ?? 0;

export async function recordEvent(
  tx: Db,
  workspaceId: string,
  type: EventType,
  entity: { type: string; id: string },
  actor: string,
  data: Record<string, unknown> = {},
): Promise<string> {
  const event = newEvent(workspaceId, type, entity, actor, data);
  await tx.insert(events).values(event.values);
  event.recorded();
  return event.id;
}

/**
 * An event row to insert with other statements (lib/db.ts atomically): call `recorded()` once it
 * is committed, so the request's dispatcher sees it (what recordEvent does itself).
 */
export function newEvent(workspaceId: string, type: EventType, entity: { type: string; id: string }, actor: string, data: Record<string, unknown> = {}) {
  const id = newId("evt");
  const scope = scopes.getStore();
  return {
    id,
    values: { id, workspaceId, type, entityType: entity.type, entityId: entity.id, actor, data, depth: scope?.depth ?? 0 },
    recorded: () => void scope?.ids.push(id),
  };
}
