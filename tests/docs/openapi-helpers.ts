// Helpers the docs tests use to walk the OpenAPI document.
import { HTTP_METHODS, type OpenApiDocument } from "../../functions/docs/document";

type Json = Record<string, any>;

export interface Operation {
  method: string;
  path: string;
  op: Json;
}

export function operations(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = (item as Json | undefined)?.[method];
      if (op) out.push({ method, path, op });
    }
  }
  return out;
}

export function deref(doc: OpenApiDocument, node: Json | undefined): Json | undefined {
  let cur = node;
  for (let i = 0; cur && typeof cur.$ref === "string" && i < 20; i++) {
    const [, , kind, name] = cur.$ref.split("/");
    cur = (doc.components as Json | undefined)?.[kind!]?.[name!];
  }
  return cur;
}

/** True when the schema, or anything inside it, carries an example. */
export function hasExample(doc: OpenApiDocument, node: Json | undefined, seen = new Set<Json>()): boolean {
  const s = deref(doc, node);
  if (!s || seen.has(s)) return false;
  seen.add(s);
  if (s.example !== undefined || (Array.isArray(s.examples) && s.examples.length)) return true;
  // A literal has exactly one value, which is its own example (`z.literal(true)` → `enum: [true]`).
  if (s.const !== undefined || (Array.isArray(s.enum) && s.enum.length === 1)) return true;
  const children: Json[] = [
    ...Object.values<Json>(s.properties ?? {}),
    ...(s.items ? [s.items] : []),
    ...(s.allOf ?? []),
    ...(s.anyOf ?? []),
    ...(s.oneOf ?? []),
    ...(s.additionalProperties && typeof s.additionalProperties === "object" ? [s.additionalProperties] : []),
  ];
  return children.some((c) => hasExample(doc, c, seen));
}

/** Every `$ref` anywhere in `node`. */
export function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) refs(v, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}
