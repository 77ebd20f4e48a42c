// The local QStash server's cron: five UTC fields, lists, ranges, steps, Vixie day semantics.
import { describe, expect, it } from "vitest";
import { nextFire, parseCron } from "../../lib/local/cron";

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, from: string) => new Date(nextFire(parseCron(expr), at(from))!).toISOString();

describe("cron", () => {
  it("finds the next firing strictly after the given time", () => {
    expect(next("* * * * *", "2026-01-01T00:00:30Z")).toBe("2026-01-01T00:01:00.000Z");
    expect(next("*/15 * * * *", "2026-01-01T00:15:00Z")).toBe("2026-01-01T00:30:00.000Z");
    expect(next("0 3 * * *", "2026-01-01T03:00:00Z")).toBe("2026-01-02T03:00:00.000Z");
    expect(next("30 9 1,15 * *", "2026-01-02T00:00:00Z")).toBe("2026-01-15T09:30:00.000Z");
    expect(next("0 0 * * 1-5", "2026-01-02T12:00:00Z")).toBe("2026-01-05T00:00:00.000Z"); // Fri → Mon
    expect(next("0 0 29 2 *", "2026-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("CRON_TZ=UTC 0 12 * * 0", "2026-01-01T00:00:00Z")).toBe("2026-01-04T12:00:00.000Z");
  });

  it("fires on either day field when both are restricted", () => {
    expect(next("0 0 13 * 5", "2026-01-01T00:00:00Z")).toBe("2026-01-02T00:00:00.000Z"); // Friday the 2nd
  });

  it("rejects what it cannot evaluate", () => {
    for (const bad of ["* * * *", "60 * * * *", "a b c d e", "*/0 * * * *", "CRON_TZ=Europe/Paris 0 0 * * *"]) {
      expect(() => parseCron(bad)).toThrow();
    }
  });
});
