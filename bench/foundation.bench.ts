// The cost of the API pipeline (request id, services, auth, rate limit, one indexed query) over
// a bare Hono route on the same server: embedded default (PGlite, in-process Redis).
import { type BenchContext, HELLO_PATH, load, printLoadTable, signUp, startBenchServer } from "./support";

export const name = "foundation";
export const description = "bare Hono hello vs an authenticated read (API key, JWT) on the local server";
export const order = 0;

export async function run(ctx: BenchContext): Promise<void> {
  const server = await startBenchServer();
  try {
    const t = await signUp(server.url);
    const read = `${server.url}/v1/agents`;
    const results = [
      await load(ctx, `GET ${HELLO_PATH} (bare Hono)`, `${server.url}${HELLO_PATH}`),
      await load(ctx, "GET /v1/agents (API key)", read, { headers: { authorization: `Bearer ${t.apiKey}` } }),
      await load(ctx, "GET /v1/agents (JWT)", read, { headers: { authorization: `Bearer ${t.jwt}` } }),
    ];
    printLoadTable(`foundation: ${server.services.describe.database}, ${ctx.connections} connections, ${ctx.duration} s each`, results);
  } finally {
    await server.dispose();
  }
}
