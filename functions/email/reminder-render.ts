// Reminder template variables: `{{contact.name}}`, `{{contact.email}}`, `{{event_at}}` and
// `{{variables.x}}`. Checked when a template is written (an unknown variable or a stray brace is
// a 422), rendered when a reminder is sent: values HTML-escaped in an HTML body, raw in text,
// line breaks removed from a subject.

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const FIXED = new Set(["contact.name", "contact.email", "event_at"]);
const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;
/** A tag such as `<p>`, `</a>`, `<br/>`: the body is then HTML. */
const HTML_TAG = /<\/?[a-z][a-z0-9-]*(?:\s[^<>]*)?\/?>/i;

export const ALLOWED_VARIABLES = "{{contact.name}}, {{contact.email}}, {{event_at}}, {{variables.<name>}}";

export interface ParsedTemplate {
  /** Every variable used, in order of first appearance (`contact.name`, `variables.x`, …). */
  variables: string[];
  /** Human-readable problems; empty when the template is valid. */
  errors: string[];
}

/** Checks a template string: every `{{…}}` must name a known variable; no stray `{{` or `}}`. */
export function parseTemplate(src: string): ParsedTemplate {
  const variables: string[] = [];
  const errors: string[] = [];
  for (const m of src.matchAll(TOKEN)) {
    const name = m[1]!;
    const known = FIXED.has(name) || (name.startsWith("variables.") && VARIABLE_NAME.test(name.slice("variables.".length)));
    if (!known) errors.push(`Unknown variable {{${name.slice(0, 80)}}}: use ${ALLOWED_VARIABLES}.`);
    else if (!variables.includes(name)) variables.push(name);
  }
  const rest = src.replace(TOKEN, "");
  if (rest.includes("{{") || rest.includes("}}")) errors.push("Unbalanced braces: write a variable as {{name}}, with nothing else in the braces.");
  return { variables, errors };
}

/** The `variables.x` names a template uses. */
export const customVariables = (...sources: Array<string | null | undefined>) =>
  [...new Set(sources.flatMap((s) => (s ? parseTemplate(s).variables : [])))].filter((v) => v.startsWith("variables.")).map((v) => v.slice("variables.".length));

export const usesEventAt = (...sources: Array<string | null | undefined>) => sources.some((s) => s && parseTemplate(s).variables.includes("event_at"));

export const isHtml = (body: string) => HTML_TAG.test(body);

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export interface RenderValues {
  contact: { name: string | null; email: string | null };
  eventAt: Date | null;
  variables: Record<string, string>;
  /** IANA zone the event time is written in (the workspace's settings.timezone), default UTC. */
  timezone?: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone, kept: making one costs more than rendering a whole reminder. Throws for an unknown zone. */
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { dateStyle: "full", timeStyle: "short", timeZone: zone });
    if (formatters.size < 1000) formatters.set(zone, f);
  }
  return f;
}

/** `Saturday, December 5, 2026 at 2:00 PM (Europe/Paris)`: readable in the workspace's zone. */
export function formatEventAt(at: Date, timezone = "UTC"): string {
  let zone = timezone;
  let text: string;
  try {
    text = formatterFor(zone).format(at);
  } catch {
    zone = "UTC";
    text = formatterFor(zone).format(at);
  }
  return `${text} (${zone})`;
}

function variableValue(name: string, v: RenderValues): string {
  if (name === "contact.name") return v.contact.name ?? "";
  if (name === "contact.email") return v.contact.email ?? "";
  if (name === "event_at") return v.eventAt ? formatEventAt(v.eventAt, v.timezone) : "";
  // A variable the reminder lacks (the template gained it after the reminder was made): empty.
  return v.variables[name.slice("variables.".length)] ?? "";
}

export function render(src: string, values: RenderValues, esc: (s: string) => string = (s) => s): string {
  return src.replace(TOKEN, (_m, name: string) => esc(variableValue(name, values)));
}

/** The values of a template's variables in order of appearance (WhatsApp template parameters). */
export function parameters(src: string, values: RenderValues): string[] {
  return [...src.matchAll(TOKEN)].map((m) => variableValue(m[1]!, values));
}

/** Plain text of an HTML body: tags dropped, block ends as line breaks, the five entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!)
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string | null;
}

/**
 * An email from a template. An HTML body (it has tags) gives `html` with every value escaped and a
 * `text` alternative; a plain body gives `text` only. The subject is one line.
 */
export function renderEmail(tpl: { subject: string | null; body: string }, values: RenderValues): RenderedEmail {
  const subject = render(tpl.subject ?? "", values)
    .replace(/[\r\n]+/g, " ")
    .trim();
  if (!isHtml(tpl.body)) return { subject, text: render(tpl.body, values), html: null };
  return { subject, html: render(tpl.body, values, escapeHtml), text: render(htmlToText(tpl.body), values) };
}
