// Every Worker as `npm run build` bundles it: within the size budget (scripts/build.ts), the
// median at or under its target, and no bundle carries a package Parley replaced.
import { describe, expect, it } from "vitest";
import { functions } from "../../functions/registry";
import { inspect, MEDIAN_TARGET_GZIP, medianGzip, SIZE_BUDGET_GZIP } from "../../scripts/build";
import { ensureBuilt } from "./support";

describe("Worker sizes", () => {
  it("every bundle fits the budget, the median its target, and none bundles @upstash/redis", async () => {
    for (const f of functions) await ensureBuilt(f.name);
    const reports = functions.map((f) => inspect(f.name));
    const sizes = Object.fromEntries(reports.map((r) => [r.name, `${(r.gzip / 1024).toFixed(1)} KiB`]));
    for (const r of reports) {
      expect(r.packages, r.name).not.toContain("@upstash/redis");
      expect(r.gzip, `${r.name}: ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(SIZE_BUDGET_GZIP);
      expect(r.problems, r.name).toEqual([]);
    }
    expect(medianGzip(reports), JSON.stringify(sizes)).toBeLessThanOrEqual(MEDIAN_TARGET_GZIP);
  }, 300_000);
});
