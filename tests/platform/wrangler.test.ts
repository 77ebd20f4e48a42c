// wrangler.toml is generated from functions/registry.ts; the edge host must route exactly as
// the local server does, so a stale file fails here (fix: `npm run wrangler:toml`).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { functions } from "../../functions/registry";
import { edgeOptions, renderWranglerToml, WRANGLER_TOML, wranglerConfig } from "../../scripts/wrangler-toml";

describe("wrangler.toml", () => {
  const opts = edgeOptions();

  it("is what `npm run wrangler:toml` generates from the registry", () => {
    const committed = readFileSync(WRANGLER_TOML, "utf8");
    expect(committed, "wrangler.toml is stale: run `npm run wrangler:toml`").toBe(renderWranglerToml(functions, opts));
  });

  it("has one env per function, named, with its entry and a route for every prefix", () => {
    const cfg = wranglerConfig(functions, opts);
    expect(Object.keys(cfg.env).sort()).toEqual(functions.map((f) => f.name).sort());
    for (const f of functions) {
      const env = cfg.env[f.name]!;
      expect(env.name).toBe(`parley-${f.name}`);
      expect(env.main).toBe(f.main);
      expect(env.routes.map((r) => r.pattern).sort()).toEqual(f.prefixes.map((p) => `${opts.host}${p}*`).sort());
      expect(env.vars.ENVIRONMENT).toBe("production");
    }
  });

  it("routes every path prefix to exactly one function", () => {
    const seen = new Map<string, string>();
    for (const f of functions) {
      for (const p of f.prefixes) {
        expect(seen.get(p), `${p} is claimed by ${seen.get(p)} and ${f.name}`).toBeUndefined();
        seen.set(p, f.name);
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  it("reads back through wrangler's own parser with a route for every prefix", async () => {
    // wrangler 4.86's config reader: catches keys it rejects and env inheritance surprises.
    const { unstable_readConfig } = await import("wrangler");
    for (const f of functions) {
      const cfg = unstable_readConfig({ config: WRANGLER_TOML, env: f.name }, { hideWarnings: true });
      expect(cfg.name).toBe(`parley-${f.name}`);
      expect(cfg.main).toBe(resolve(dirname(WRANGLER_TOML), f.main));
      expect(cfg.compatibility_flags).toContain("nodejs_compat");
      const patterns = (cfg.routes ?? []).map((r: string | { pattern: string }) => (typeof r === "string" ? r : r.pattern));
      for (const p of f.prefixes) expect(patterns, `no route for ${p} in [env.${f.name}]`).toContain(`${opts.host}${p}*`);
      expect(cfg.vars.ENVIRONMENT).toBe("production");
      expect(Boolean(cfg.assets), `assets of ${f.name}`).toBe(f.name === "docs");
    }
  });

  it("gives every function the module aliases (wrangler reads `alias` from the top level only)", async () => {
    const { unstable_readConfig } = await import("wrangler");
    const { alias } = wranglerConfig(functions, opts);
    expect(alias).toMatchObject({ "parley:openapi-document": "./dist/docs-build/openapi.json", "../locales/index.js": "./lib/zod-locales.ts" });
    for (const name of ["docs", "jobs-exports", "identity"]) {
      expect(unstable_readConfig({ config: WRANGLER_TOML, env: name }, { hideWarnings: true }).alias, name).toEqual(alias);
    }
  });

  it("gives static assets only to the docs function", () => {
    const cfg = wranglerConfig(functions, opts);
    for (const [name, env] of Object.entries(cfg.env)) {
      if (name === "docs") expect(env.assets).toEqual({ directory: "dist/docs-assets", binding: "ASSETS" });
      else expect(env.assets).toBeUndefined();
    }
    expect(cfg).not.toHaveProperty("assets");
  });
});
