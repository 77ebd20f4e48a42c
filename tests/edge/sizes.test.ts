// Every Worker as `npm run build` bundles it: within the size budget (scripts/build.ts) or one of
// its listed exceptions, no listed exception back under the budget (inspect's problems), and
// the median within its target.
import { describe, expect, it } from "vitest";
import { functions } from "../../functions/registry";
import { inspect, MEDIAN_TARGET_GZIP, medianGzip, SIZE_BUDGET_GZIP, SIZE_EXCEPTIONS } from "../../scripts/build";
import { ensureBuilt } from "./support";

describe("Worker sizes", () => {
  it("every bundle fits the budget unless it is a listed exception, every exception is still needed, and the median fits its target", async () => {
    for (const f of functions) await ensureBuilt(f.name);
    const reports = functions.map((f) => inspect(f.name));
    const sizes = Object.fromEntries(reports.map((r) => [r.name, `${(r.gzip / 1024).toFixed(1)} KiB`]));
    for (const r of reports) {
      if (r.name in SIZE_EXCEPTIONS) expect(r.gzip, `${r.name} is listed as an exception: ${JSON.stringify(sizes)}`).toBeGreaterThan(SIZE_BUDGET_GZIP);
      else expect(r.gzip, `${r.name}: ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(SIZE_BUDGET_GZIP);
      expect(r.problems, r.name).toEqual([]);
    }
    expect(medianGzip(reports), `median of ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(MEDIAN_TARGET_GZIP);
  }, 300_000);
});
