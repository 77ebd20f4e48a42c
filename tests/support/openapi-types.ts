// TypeScript types from an OpenAPI 3.1 document, the way openapi-typescript 7 writes them with
// its default options (`export interface components` and `export interface operations`, keyed
// by operationId). A stand-in for that generator while it is not a dev dependency: it follows
// its rules for what Parley's document uses, the ones typed clients trip on included:
// - a property is optional unless it is in `required`, except that a property with a `default`
//   is required (`defaultNonNullable`) unless the schema sits under `parameters` or
//   `requestBody` (a named component, even one used as a request body, is neither);
// - `allOf` is an intersection, `anyOf`/`oneOf` a union, `type: [t, "null"]` is `t | null`;
// - an object schema without properties is `Record<string, never>`.
// tests/docs/typed-client.test.ts also runs the real generator when it is installed.
type Schema = Record<string, any>;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENT.test(k) || /^[1-9]\d*$/.test(k) ? k : JSON.stringify(k));
const literal = (v: unknown) => (v === null ? "null" : JSON.stringify(v));
const union = (types: string[]) => {
  const unique = [...new Set(types)];
  return unique.length === 1 ? unique[0]! : unique.map((t) => `(${t})`).join(" | ");
};
const intersection = (types: string[]) => (types.length === 1 ? types[0]! : types.map((t) => `(${t})`).join(" & "));
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

function refType(ref: string): string {
  const [, , kind, name] = ref.split("/");
  return `components[${JSON.stringify(kind)}][${JSON.stringify(name)}]`;
}

function isPrimitive(t: string) {
  return /^(string|number|boolean|null|"[^"]*"|-?\d[\d.e+-]*|true|false)$/.test(t);
}

export function schemaType(s: Schema | boolean | undefined, path: string): string {
  if (s === undefined || s === null || s === false) return "never";
  if (s === true) return "unknown";
  if (typeof s.$ref === "string") return refType(s.$ref);
  if (s.const !== undefined && s.const !== null) return literal(s.const);
  if (Array.isArray(s.enum) && s.type !== "object" && !s.properties && !s.additionalProperties) {
    const values = s.enum.map(literal);
    if (Array.isArray(s.type) && s.type.includes("null")) values.push("null");
    return union(values);
  }
  let type: string | undefined;
  const core = coreType(s, path);
  const allOf = (s.allOf ?? []).map((item: Schema, i: number) => {
    if (item.$ref) return refType(item.$ref);
    return schemaType({ ...item, required: [...(s.required ?? []), ...(item.required ?? [])] }, pointer(path, "allOf", String(i)));
  });
  if (core || allOf.length) type = intersection([...(core ? [core] : []), ...(allOf.length ? [intersection(allOf)] : [])]);
  const anyOf = (s.anyOf ?? []).map((item: Schema, i: number) => schemaType(item, pointer(path, "anyOf", String(i))));
  if (anyOf.length) type = union([...(type ? [type] : []), ...anyOf]);
  const oneOf = (s.oneOf ?? []).map((item: Schema, i: number) => schemaType(item, pointer(path, "oneOf", String(i))));
  if (oneOf.length) type = oneOf.every(isPrimitive) ? union([...(type ? [type] : []), ...oneOf]) : intersection([...(type ? [type] : []), union(oneOf)]);
  if (!type) type = "type" in s ? "Record<string, never>" : "unknown";
  if (type !== "unknown" && s.nullable) type = union([type, "null"]);
  return type;
}

function coreType(s: Schema, path: string): string | undefined {
  if (s.type) {
    if (Array.isArray(s.type)) return union(s.type.map((t: string) => (t === "null" ? "null" : schemaType({ ...s, type: t }, path))));
    if (s.type === "null") return "null";
    if (s.type === "string") return "string";
    if (s.type === "number" || s.type === "integer") return "number";
    if (s.type === "boolean") return "boolean";
    if (s.type === "array") {
      if (Array.isArray(s.prefixItems)) return `[${s.prefixItems.map((i: Schema) => schemaType(i, path)).join(", ")}]`;
      return s.items ? `(${schemaType(s.items, path)})[]` : "unknown[]";
    }
  }
  const members: string[] = [];
  const inInput = /\/(parameters|requestBody|requestBodies)(\/|$)/.test(path);
  for (const [name, prop] of Object.entries<Schema>(s.properties ?? {})) {
    const hasDefault = prop && typeof prop === "object" && "default" in prop && prop.default !== undefined;
    const required = s.required?.includes(name) || (hasDefault && !inInput);
    const t = prop?.$ref ? refType(prop.$ref) : schemaType(prop, pointer(path, name));
    members.push(`${key(name)}${required ? "" : "?"}: ${t};`);
  }
  const index: string[] = [];
  const ap = s.additionalProperties;
  if (ap && typeof ap === "object" && Object.keys(ap).length) index.push(schemaType(ap, path));
  else if (ap === true || (ap && typeof ap === "object")) index.push("unknown");
  if (!members.length && !index.length) return undefined;
  const object = members.length ? `{ ${members.join(" ")} }` : undefined;
  if (!index.length) return object;
  return intersection([...(object ? [object] : []), `{ [key: string]: ${union(index)} }`]);
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** `export interface components` and `export interface operations` of the document. */
export function generateTypes(doc: Schema): string {
  const out: string[] = ["export interface components {", "  schemas: {"];
  for (const [name, s] of Object.entries<Schema>(doc.components?.schemas ?? {})) out.push(`    ${key(name)}: ${schemaType(s, `#/components/schemas/${pointer(name)}`)};`);
  out.push("  };", "}", "", "export interface operations {");
  for (const [p, item] of Object.entries<Schema>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op?.operationId) continue;
      const base = `#/paths/${pointer(p, method)}`;
      out.push(`  ${key(op.operationId)}: {`, `    parameters: {`);
      for (const where of ["query", "header", "path", "cookie"]) {
        const params = (op.parameters ?? []).filter((x: Schema) => x.in === where);
        if (!params.length) {
          out.push(`      ${where}?: never;`);
          continue;
        }
        const fields = params.map((x: Schema, i: number) => `${key(x.name)}${x.required ? "" : "?"}: ${schemaType(x.schema, pointer(base, "parameters", String(i)))};`);
        out.push(`      ${where}${params.some((x: Schema) => x.required) ? "" : "?"}: { ${fields.join(" ")} };`);
      }
      out.push("    };");
      const body = op.requestBody;
      if (body?.content) {
        const content = Object.entries<Schema>(body.content).map(([mt, m]) => `${JSON.stringify(mt)}: ${schemaType(m.schema, pointer(base, "requestBody", "content", mt))};`);
        out.push(`    requestBody${body.required ? "" : "?"}: { content: { ${content.join(" ")} } };`);
      } else out.push("    requestBody?: never;");
      out.push("    responses: {");
      for (const [status, r] of Object.entries<Schema>(op.responses ?? {})) {
        const content = r.content ? `content: { ${Object.entries<Schema>(r.content).map(([mt, m]) => `${JSON.stringify(mt)}: ${schemaType(m.schema, pointer(base, "responses", status, "content", mt))};`).join(" ")} };` : "content?: never;";
        out.push(`      ${key(status)}: { headers: { [name: string]: unknown }; ${content} };`);
      }
      out.push("    };", "  };");
    }
  }
  out.push("}", "");
  return out.join("\n");
}
