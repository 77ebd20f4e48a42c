// The size budget of `npm run build` (scripts/build.ts): a Worker over it fails the build unless
// it is listed with a reason, and a listed Worker back within it fails too, so the list stays true.
import { describe, expect, it } from "vitest";
import { aliasProblems, type BundleReport, budgetProblems, MEDIAN_TARGET_GZIP, medianProblems, SIZE_BUDGET_GZIP, SIZE_EXCEPTIONS } from "../../scripts/build";
import { RELATIVE_ALIAS_OWNERS, wranglerConfig } from "../../scripts/wrangler-toml";

const KiB = 1024;

describe("the Worker size budget", () => {
  it("is 300 KiB gzip", () => {
    expect(SIZE_BUDGET_GZIP).toBe(300 * KiB);
  });

  it("passes a Worker within it and fails one over it that is not listed", () => {
    expect(budgetProblems("tags", 205 * KiB)).toEqual([]);
    expect(budgetProblems("tags", 300 * KiB)).toEqual([]);
    const [problem] = budgetProblems("tags", 300 * KiB + 1);
    expect(problem).toMatch(/^tags is 300\.0 KiB gzip, over the 300\.0 KiB budget/);
  });

  it("lets a listed exception through, and fails one that is no longer needed", () => {
    expect(budgetProblems("big", 400 * KiB, SIZE_BUDGET_GZIP, { big: "why" })).toEqual([]);
    expect(budgetProblems("big", 200 * KiB, SIZE_BUDGET_GZIP, { big: "why" })[0]).toMatch(/remove its entry from SIZE_EXCEPTIONS/);
  });

  it("gives every exception a reason", () => {
    for (const [name, why] of Object.entries(SIZE_EXCEPTIONS)) expect(why.length, name).toBeGreaterThan(20);
  });

  it("fails a build of every function whose median is over 200 KiB gzip, and says nothing of a partial build", () => {
    const reports = (sizes: number[]): BundleReport[] => sizes.map((kb, i) => ({ name: `f${i}`, raw: 0, gzip: kb * KiB, packages: [], problems: [] }));
    expect(MEDIAN_TARGET_GZIP).toBe(200 * KiB);
    expect(medianProblems(reports([150, 200, 290]), 3)).toEqual([]);
    expect(medianProblems(reports([150, 200, 210, 290]), 4)[0]).toMatch(/^the median Worker is 205\.0 KiB gzip, over the 200\.0 KiB target/);
    expect(medianProblems(reports([250]), 3)).toEqual([]);
  });

  it("fails when a relative [alias] key is imported by a package it was not meant for", () => {
    expect(RELATIVE_ALIAS_OWNERS["./compile.js"]).toBe("zod");
    expect(RELATIVE_ALIAS_OWNERS["../locales/index.js"]).toBe("zod");
    // Every relative key of wrangler.toml's [alias] has an owner to check against.
    const alias = wranglerConfig([{ name: "a", main: "functions/a/index.ts", prefixes: ["/v1/a"] }], { host: "h", zone: "z" }).alias;
    for (const key of Object.keys(alias).filter((k) => k.startsWith("."))) expect(RELATIVE_ALIAS_OWNERS[key], key).toBeTruthy();
    const zodOnly = { "node_modules/zod/v4/core/index.js": { imports: [{ original: "./compile.js" }] } };
    expect(aliasProblems("tags", zodOnly)).toEqual([]);
    const other = { ...zodOnly, "node_modules/some-lib/dist/index.js": { imports: [{ original: "./compile.js" }, { original: "./other.js" }] } };
    const problems = aliasProblems("tags", other);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^tags: node_modules\/some-lib\/dist\/index\.js imports "\.\/compile\.js", which the \[alias\] for zod replaces/);
  });
});
