// `npm run test:edge`: the functions as wrangler bundles them (dist/<name>), run in workerd
// through Miniflare, against real PostgreSQL (Neon driver + local WebSocket proxy) and real
// Redis (Upstash REST adapter). Skips, saying why, when DATABASE_URL is unset.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/edge/**/*.test.ts"],
    globalSetup: ["tests/edge/global-setup.ts"],
    // The first request into a fresh workerd loads the whole module graph (3–7 s).
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
