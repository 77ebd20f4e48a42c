// The bench server in a process of its own (see startServerProcess in support.ts): prints
// `{"url": …}` once it listens, and stops on SIGTERM.
import { startBenchServer } from "./support";

const env = JSON.parse(process.env.PARLEY_BENCH_ENV ?? "{}") as Record<string, string>;
const server = await startBenchServer(env);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => {
  void server.dispose().finally(() => process.exit(0));
});
