// Nesting depth of a JSON text, measured without parsing it: objects and arrays opened and not
// yet closed, strings skipped (with their escapes). Request bodies deeper than MAX_JSON_DEPTH
// are refused with 422 before anything walks them recursively (validators, jsonb encoding,
// merges), which at a few thousand levels would overflow the stack.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

export const MAX_JSON_DEPTH = 64;

/** True when `text` nests objects/arrays deeper than `max`. Malformed text is left to the parser. */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      // A string: skip to its closing quote.
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
    } else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
    }
  }
  return false;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** Refuses /v1 JSON bodies nested deeper than MAX_JSON_DEPTH (422 validation_error). */
export const limitJsonDepth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header("content-type");
  // /v1 only: provider webhooks and jobs read their raw bodies themselves (signatures cover the bytes).
  if (!c.req.path.startsWith("/v1/") || c.req.method === "GET" || c.req.method === "HEAD" || !type || !JSON_TYPE.test(type)) return next();
  // Hono keeps the text: the validator's json() later reads it from that cache.
  const text = await c.req.text();
  if (jsonTooDeep(text)) {
    throw new ApiError("validation_error", `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`, { details: { max_depth: MAX_JSON_DEPTH } });
  }
  return next();
};
