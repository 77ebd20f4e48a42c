// Parley's plans and their limits, in one place: file storage (MB, counted from the `files`
// table) and API requests per UTC day (counted per workspace in Redis, lib/usage.ts). A
// workspace's plan is `workspaces.plan`; an unknown plan name gets the free plan's limits.

export interface PlanLimits {
  /** Stored files (uploads, attachments, inbound attachments, exports) in MB (1 MB = 1,048,576 bytes). */
  storageMb: number;
  /** Authenticated /v1 requests per UTC day; beyond it the answer is 429 until midnight UTC. */
  requestsPerDay: number;
  /** Model tokens (prompt + completion) per UTC day; beyond it AI features answer 429 (lib/ai-limits.ts). */
  aiTokensPerDay: number;
}

export const PLANS = {
  free: { storageMb: 1_024, requestsPerDay: 10_000, aiTokensPerDay: 1_000_000 },
  pro: { storageMb: 51_200, requestsPerDay: 250_000, aiTokensPerDay: 20_000_000 },
  business: { storageMb: 512_000, requestsPerDay: 2_500_000, aiTokensPerDay: 200_000_000 },
} as const satisfies Record<string, PlanLimits>;

export type PlanName = keyof typeof PLANS;
export const PLAN_NAMES = Object.keys(PLANS) as PlanName[];
export const DEFAULT_PLAN: PlanName = "free";

export function planLimits(plan: string | null | undefined): PlanLimits {
  return (PLANS as Record<string, PlanLimits>)[plan ?? DEFAULT_PLAN] ?? PLANS[DEFAULT_PLAN];
}

/** The smallest daily request limit of any plan: below a share of it no plan needs looking up. */
export const MIN_REQUESTS_PER_DAY = Math.min(...Object.values(PLANS).map((p) => p.requestsPerDay));

export const BYTES_PER_MB = 1_048_576;
