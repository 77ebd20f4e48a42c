// Every route of the contacts and tags functions is in the OpenAPI document, tagged, with
// examples for request bodies and success responses.
import { describe, expect, it } from "vitest";
import { app as contacts } from "../../functions/contacts/app";
import { app as tags } from "../../functions/tags/app";

type Schema = { $ref?: string; example?: unknown; type?: unknown; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[] };

describe("OpenAPI: contacts, sessions, tags", () => {
  for (const [name, app, expected] of [
    ["contacts", contacts, 18],
    ["tags", tags, 5],
  ] as const) {
    it(`${name}: every operation is documented with tags, summary, errors and examples`, () => {
      const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
      const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
      const hasExample = (s: Schema | undefined, depth = 0): boolean => {
        if (!s || depth > 8) return false;
        if (s.example !== undefined) return true;
        if (s.$ref) return hasExample(schemas[s.$ref.split("/").pop()!], depth + 1);
        if (s.anyOf) return s.anyOf.some((x) => hasExample(x, depth + 1));
        if (s.items) return hasExample(s.items, depth + 1);
        if (s.properties) return Object.values(s.properties).every((p) => hasExample(p, depth + 1) || (p as { type?: unknown }).type === "boolean");
        return false;
      };
      let count = 0;
      for (const [path, ops] of Object.entries(doc.paths ?? {})) {
        for (const [method, op] of Object.entries(ops as Record<string, any>)) {
          count++;
          const where = `${method.toUpperCase()} ${path}`;
          expect(op.tags?.length, where).toBeGreaterThan(0);
          for (const t of op.tags) expect(["Contacts", "Sessions", "Tags"], where).toContain(t);
          expect(op.summary, where).toBeTruthy();
          expect(op.responses["401"], where).toBeTruthy();
          expect(op.responses["422"], where).toBeTruthy();
          if (path.includes("{")) expect(op.responses["404"], where).toBeTruthy();
          const ok = Object.keys(op.responses).filter((s) => s.startsWith("2"));
          expect(ok.length, where).toBeGreaterThan(0);
          for (const s of ok) expect(hasExample(op.responses[s].content["application/json"].schema), `${where} ${s} example`).toBe(true);
          if (op.requestBody) expect(hasExample(op.requestBody.content["application/json"].schema), `${where} body example`).toBe(true);
        }
      }
      expect(count).toBe(expected);
    });
  }
});
