// Helpers for the events area's tests: a webhook receiver on loopback that records what it is
// sent and answers as told, and waits for the dispatcher's background work.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll } from "vitest";
import { rowsOf } from "../../lib/db";
import { eventually } from "../jobs/helpers";
import type { Harness } from "../support/harness";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for the next requests to `path`, in order (then 200): a status, "hang", a redirect, a big body. */
  plan(path: string, ...steps: Step[]): void;
  on(path: string): Received[];
  close(): Promise<void>;
}

type Step = number | "hang" | { redirect: string } | { big: number };

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const plans = new Map<string, Step[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const step = plans.get(req.url ?? "/")?.shift() ?? 200;
      if (step === "hang") return; // never answers (the client times out)
      if (typeof step === "object" && "redirect" in step) {
        res.writeHead(302, { location: step.redirect }).end();
        return;
      }
      if (typeof step === "object" && "big" in step) {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("x".repeat(step.big));
        return;
      }
      res.writeHead(step, { "content-type": "text/plain" }).end(step < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  const rcv: Receiver = {
    url: `http://127.0.0.1:${port}`,
    received,
    plan: (path, ...steps) => plans.set(path, [...(plans.get(path) ?? []), ...steps]),
    on: (path) => received.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  afterAll(() => rcv.close());
  return rcv;
}

/**
 * Waits until every event of the workspace is dispatched (the after-commit fan-out runs in the
 * background) and the local QStash has nothing due or in flight; again, since jobs (automation
 * actions) record events of their own.
 */
export async function settle(h: Harness, workspaceId: string) {
  const undispatched = async () =>
    Number(
      rowsOf<{ n: number }>(await h.services.db.execute(sql`select count(*)::int as n from events where workspace_id = ${workspaceId} and dispatched_at is null`))[0]?.n ?? 0,
    );
  for (let round = 0; round < 10; round++) {
    await eventually(async () => (await undispatched()) === 0);
    await h.services.qstash!.idle();
    if ((await undispatched()) === 0) return;
  }
}

export { eventually };
