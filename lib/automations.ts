// Automations' rules, shared by the API (validation at creation) and the job (evaluation): the
// events an automation can listen to, the fields each event's data offers to conditions, the
// condition operators, and which actions make sense for which event.
import type { AutomationAction, AutomationCondition } from "../schema/events";

export const AUTOMATION_EVENTS = [
  "conversation.created",
  "message.created",
  "conversation.status_changed",
  "conversation.assigned",
  "conversation.tagged",
  "contact.created",
  "summary.completed",
] as const;
export type AutomationEvent = (typeof AUTOMATION_EVENTS)[number];

export const CONDITION_OPERATORS = ["equals", "not_equals", "contains", "not_contains", "in", "not_in", "exists", "gt", "lt"] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export const ACTION_TYPES = ["add_tag", "remove_tag", "assign", "set_status", "send_message", "send_email", "summarize", "webhook"] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export const MAX_CONDITIONS = 20;
export const MAX_ACTIONS = 10;

// What lib/event-context.ts adds to every event about a conversation, a message or a contact.
const CONVERSATION_FIELDS = ["id", "title", "status", "source", "channel_id", "contact_id", "assignee_id", "message_count", "metadata", "tags", "created_at"];
const MESSAGE_FIELDS = ["id", "conversation_id", "sender_type", "sender_id", "content", "source", "created_at"];
const CONTACT_FIELDS = ["id", "name", "email", "phone"];
const SUMMARY_FIELDS = ["title", "content", "sentiment", "topics", "action_items", "language", "style"];

/** Objects a condition can reach into, and their fields (`metadata` is free-form below). */
export const OBJECT_FIELDS: Record<string, string[]> = {
  conversation: CONVERSATION_FIELDS,
  message: MESSAGE_FIELDS,
  contact: CONTACT_FIELDS,
  summary: SUMMARY_FIELDS,
};

const CONVERSATION_ROOTS = ["conversation", "contact", "summary"];

/**
 * The top-level keys of each event's data as conditions see it: the event's own data (as
 * recorded by the code that changes things) plus the objects it concerns.
 */
export const EVENT_FIELDS: Record<AutomationEvent, string[]> = {
  "conversation.created": ["title", "source", "contact_id", "session_id", "channel_id", "assistant_id", "has_content", ...CONVERSATION_ROOTS],
  "message.created": ["conversation_id", "sender_type", "source", "channel", "channel_id", "deliver", "captured", "external_id", "message", ...CONVERSATION_ROOTS],
  "conversation.status_changed": ["from", "to", ...CONVERSATION_ROOTS],
  "conversation.assigned": ["from", "to", ...CONVERSATION_ROOTS],
  "conversation.tagged": ["conversation_id", "tag", "tag_id", ...CONVERSATION_ROOTS],
  "contact.created": ["contact", "session_id", "source", "phone"],
  "summary.completed": ["conversation_id", "summary_id", "summary", "conversation", "contact"],
};

/** Example fields per event, for the documentation. */
export const EVENT_FIELD_EXAMPLES: Record<AutomationEvent, string> = {
  "conversation.created": "`source`, `title`, `channel_id`, `conversation.metadata.plan`, `contact.email`",
  "message.created": "`sender_type`, `message.content`, `message.sender_type`, `conversation.source`, `conversation.tags`, `contact.email`",
  "conversation.status_changed": "`from`, `to`, `conversation.assignee_id`, `conversation.tags`",
  "conversation.assigned": "`from`, `to` (agent ids; null when unassigned), `conversation.status`",
  "conversation.tagged": "`tag`, `conversation.source`, `conversation.tags`",
  "contact.created": "`contact.email`, `contact.name`, `contact.phone`, `source` (`chat`, `whatsapp`; absent for the API)",
  "summary.completed": "`summary.sentiment`, `summary.topics`, `summary.language`, `conversation.source`",
};

/** Actions that need a conversation (every listened event but contact.created concerns one). */
export const CONVERSATION_ACTIONS: ReadonlySet<ActionType> = new Set(["assign", "set_status", "send_message", "summarize"]);

const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+){0,7}$/;

/**
 * The rule checks zod cannot make alone (they depend on the event): each problem by its path
 * in the body (`conditions.0.field`, `actions.1.type`).
 */
export function ruleProblems(event: string, conditions: AutomationCondition[], actions: AutomationAction[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (k: string, m: string) => {
    out[k] = [...(out[k] ?? []), m];
  };
  const roots = EVENT_FIELDS[event as AutomationEvent];
  if (!roots) return out; // the event itself is reported by the schema
  for (const [i, c] of conditions.entries()) {
    const key = `conditions.${i}.field`;
    if (!FIELD_RE.test(c.field)) {
      add(key, "Must be a dotted path such as `conversation.source`.");
      continue;
    }
    const [root, second, third] = c.field.split(".");
    if (!roots.includes(root!)) {
      add(key, `Unknown field for ${event}: its data has ${roots.join(", ")}.`);
      continue;
    }
    const known = OBJECT_FIELDS[root!];
    if (!known || second === undefined) continue;
    if (!known.includes(second)) add(key, `Unknown field of ${root}: ${known.join(", ")}.`);
    else if (third !== undefined && second !== "metadata" && !/^\d+$/.test(third)) add(key, `${root}.${second} has no fields.`);
  }
  actions.forEach((a, i) => {
    if (event === "contact.created" && CONVERSATION_ACTIONS.has(a.type)) add(`actions.${i}.type`, `${a.type} needs a conversation; contact.created concerns a contact only.`);
  });
  return out;
}

// ---- evaluation ----

/** The value at a dotted path (numeric segments index arrays); undefined when absent. */
export function valueAt(data: unknown, path: string): unknown {
  let cur: unknown = data;
  for (const seg of path.split(".")) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (typeof cur === "object") {
      cur = Object.hasOwn(cur, seg) ? (cur as Record<string, unknown>)[seg] : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
const present = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);

/** A number, or the time of an ISO date string, for gt/lt; null when it is neither. */
function comparable(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "") {
    if (/^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
    if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
      const t = Date.parse(v);
      return Number.isNaN(t) ? null : t;
    }
  }
  return null;
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return a.some((x) => equal(x, b));
  if (typeof a === "number" && typeof b === "string") return comparable(b) === a;
  if (typeof a === "string" && typeof b === "number") return comparable(a) === b;
  return a === b || (a === undefined && b === null);
}

function contains(actual: unknown, value: unknown): boolean {
  if (Array.isArray(actual)) return actual.some((x) => lower(x) === lower(value));
  if (typeof actual === "string") return actual.toLowerCase().includes(String(value).toLowerCase());
  return false;
}

function inList(actual: unknown, list: unknown[]): boolean {
  if (Array.isArray(actual)) return actual.some((x) => list.some((v) => equal(x, v)));
  return list.some((v) => equal(actual, v));
}

/** Whether one condition holds for `data`. */
export function conditionHolds(c: AutomationCondition, data: unknown): boolean {
  const actual = valueAt(data, c.field);
  switch (c.operator) {
    case "equals":
      return equal(actual, c.value);
    case "not_equals":
      return !equal(actual, c.value);
    case "contains":
      return contains(actual, c.value);
    case "not_contains":
      return !contains(actual, c.value);
    case "in":
      return inList(actual, c.value as unknown[]);
    case "not_in":
      return !inList(actual, c.value as unknown[]);
    case "exists":
      return present(actual) === (c.value === undefined ? true : Boolean(c.value));
    case "gt":
    case "lt": {
      const a = comparable(actual);
      const b = comparable(c.value);
      if (a === null || b === null) return false;
      return c.operator === "gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

const show = (v: unknown) => {
  const s = v === undefined ? "absent" : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
};

/** The first condition that does not hold, described; null when all hold. */
export function firstFailing(conditions: AutomationCondition[], data: unknown): string | null {
  for (const c of conditions) {
    if (!conditionHolds(c, data)) {
      const value = c.operator === "exists" ? (c.value === false ? " false" : "") : ` ${show(c.value)}`;
      return `condition not met: ${c.field} ${c.operator}${value} (was ${show(valueAt(data, c.field))})`;
    }
  }
  return null;
}
