// Postgres refuses NUL characters in text and jsonb, and lone UTF-16 surrogates in jsonb:
// such input must be a 400/422 naming the field, never a 500 from the database.
import { z } from "@hono/zod-openapi";
import { MAX_JSON_DEPTH } from "./json-depth";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when Postgres can store `s` as text or inside jsonb. */
export const storableText = (s: string) => !s.includes("\u0000") && !LONE_SURROGATE.test(s);

/** True when `s` has no control characters (tab, newline and carriage return allowed when `lines`). */
export function noControlChars(s: string, lines = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 127 || (c < 32 && !(lines && (c === 9 || c === 10 || c === 13)))) return false;
  }
  return true;
}

/**
 * True when every string and key inside a JSON value is storable. Request bodies are already
 * no deeper than MAX_JSON_DEPTH (lib/json-depth.ts); the bound here only keeps the walk finite.
 */
export function storableJson(value: unknown, depth = 0): boolean {
  if (depth > MAX_JSON_DEPTH) return false;
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.every((v) => storableJson(v, depth + 1));
  if (value && typeof value === "object") {
    return Object.entries(value).every(([k, v]) => storableText(k) && storableJson(v, depth + 1));
  }
  return true;
}

/** A string query or path parameter Postgres can compare against. */
export const safeParam = (max: number) => z.string().max(max).refine(storableText, "Contains characters that cannot be stored (NUL or a lone surrogate).");
