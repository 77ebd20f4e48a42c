// The size budget of `npm run build` (scripts/build.ts): a Worker over it fails the build unless
// it is listed with a reason, and a listed Worker back within it fails too, so the list stays true.
import { describe, expect, it } from "vitest";
import { budgetProblems, SIZE_BUDGET_GZIP, SIZE_EXCEPTIONS } from "../../scripts/build";

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
});
