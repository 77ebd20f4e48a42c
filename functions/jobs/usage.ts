// The usage job: copies the API request counters Redis keeps per workspace, day and route
// (lib/usage.ts) to api_usage_daily. Fired daily by the `parley-usage-rollup` schedule for the
// last seven days (a missed firing is caught up the next day; a rerun changes nothing).
import { z } from "@hono/zod-openapi";
import { createJobApp } from "../../lib/jobs";
import { dayOf, persistUsage } from "../../lib/usage";

export const UsagePayload = z.object({
  rollup: z.literal(true),
  days: z.number().int().min(1).max(8).optional().openapi({ example: 7, description: "How many UTC days to persist, ending today (default 7)." }),
});

export const app = createJobApp(
  "usage",
  UsagePayload,
  async (tx, payload, meta) => {
    const days = payload.days ?? 7;
    let rows = 0;
    for (let i = 0; i < days; i++) rows += await persistUsage(tx, meta.services.kv, dayOf(Date.now() - i * 86_400_000));
    return { days, rows };
  },
  {
    summary: "Persist API usage counters",
    description: "Copies each workspace's API request counters (per UTC day and route template) from Redis to api_usage_daily, keeping the larger count, for the last `days` days.",
  },
);
