// The README's walkthrough is run as written: its bash block, with bash and curl, against the
// local server (`npm start`'s code path) on the embedded default, or PostgreSQL and Redis when
// their variables are set. Every curl must answer 2xx and the answers must show what the text
// says they show.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalServer, startServer } from "../../lib/local/server";
import { unique } from "../support/harness";

const run = promisify(execFile);
const env = Object.fromEntries(["DATABASE_URL", "REDIS_URL", "NEON_WS_PROXY"].flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
const server: LocalServer = await startServer({ port: 0, dataDir: null, env, environment: "test" });
afterAll(() => server.close());

/** The bash block of the README's "## Walkthrough" section. */
function walkthroughBlock(): string {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split(/^## Walkthrough$/m)[1]?.split(/^## /m)[0];
  const block = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README.md has no ## Walkthrough section with a bash block");
  return block;
}

// curl as the reader runs it, plus: fail on a non-2xx answer, and write each status to stderr.
// jq where the machine has none: the one form the walkthrough uses (`jq -r .field`), in Node.
const PRELUDE = String.raw`
set -eo pipefail
curl() { command curl --fail-with-body -sS -w '%{stderr}%{http_code}\n' "$@" || return $?; echo; }
if ! command -v jq >/dev/null; then
  jq() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].slice(1).split("."))v=v[k];console.log(v)})' "$2"; }
fi
`;

describe("README walkthrough", () => {
  it("runs end to end with every call answered 2xx", { timeout: 120_000 }, async () => {
    const block = walkthroughBlock();
    const calls = block.match(/^[^#\n]*\bcurl\b/gm) ?? [];
    expect(calls.length).toBeGreaterThanOrEqual(15);
    expect(block).toContain("B=http://127.0.0.1:8787");
    // This server's port, and an owner e-mail of its own (a real database keeps earlier runs' sign-ups).
    const script = PRELUDE + block.replace("B=http://127.0.0.1:8787", `B=${server.url}`).replace("ada@acme.example", `${unique("ada")}@acme.example`);

    const { stdout, stderr } = await run("bash", ["-c", script], { maxBuffer: 10 * 1024 * 1024 }).catch((e) => {
      throw new Error(`the walkthrough failed (${e.code}):\n${e.stderr}\n${String(e.stdout).slice(-2000)}`);
    });

    const statuses = stderr.trim().split("\n");
    expect(statuses).toHaveLength(calls.length);
    for (const s of statuses) expect(s).toMatch(/^2\d\d$/);
    // What the walkthrough says happened.
    expect(stdout).toContain('"status":"resolved"');
    expect(stdout).toContain('"tags":["billing"]');
    expect(stdout).toMatch(/"message_count":2,/);
    expect(stdout).toContain("<mark>charged</mark> <mark>twice</mark>");
    expect(stdout).toContain("event: message_start");
    expect(stdout).toContain("event: message_end");
    expect(stdout).toMatch(/"key":"pk_live_[\w-]+"/);
  });
});
