// What the Workers bundle instead of zod's ahead-of-time compiler (lib/zod-compile-unused.ts,
// wrangler alias "./compile.js"): every name zod's module exports, and zod's own answer where it
// cannot compile, which is every schema in a Worker (no `new Function` there).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as stub from "../../lib/zod-compile-unused";

// zod's package exports do not name the file; the alias replaces it by its path beside core/index.js.
const compilePath = join(dirname(createRequire(import.meta.url).resolve("zod/v4/core")), "compile.js");

describe("zod's compiler as the Workers bundle it", () => {
  it("exports every name zod's compile module exports", async () => {
    const zodCompile = (await import(pathToFileURL(compilePath).href)) as Record<string, unknown>;
    expect(Object.keys(stub).sort()).toEqual(Object.keys(zodCompile).sort());
    expect(stub.INVALID).toBe(zodCompile.INVALID);
  });

  it("hands a schema back unchanged on the runtime parser, and refuses under strict", () => {
    const schema = z.object({ name: z.string().min(1) });
    const same = stub.compile(schema);
    expect(same).toBe(schema);
    expect(same.safeParse({ name: "" }).success).toBe(false);
    expect(same.parse({ name: "Ada" })).toEqual({ name: "Ada" });
    expect(() => stub.compile(schema, { strict: true })).toThrow(stub.ZodCompileUnsupportedError);
    expect(() => stub.withParser()).toThrow(/new Function is not allowed/);
  });
});
