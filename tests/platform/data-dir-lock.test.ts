// One process at a time on a DATA_DIR (issue 16 item 9): `npm run seed` while `npm start` ran
// opened the same PGlite files twice and corrupted them. A second opener now gets a clear
// error, seed goes through the running server instead, and a lock left by a dead process is
// taken over.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError, LOCK_FILE, lockDataDir } from "../../lib/local/data-dir-lock";
import { type LocalServer, startServer } from "../../lib/local/server";
import { createLocalServices } from "../../lib/local/services";

const run = promisify(execFile);
const backend = Object.fromEntries(
  (["DATABASE_URL", "REDIS_URL", "NEON_WS_PROXY"] as const).filter((k) => process.env[k]).map((k) => [k, process.env[k]!]),
) as Record<string, string>;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "parley-lock-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("DATA_DIR lock", () => {
  it("while the server runs, a second opener is refused clearly and npm run seed goes through the server", { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const server: LocalServer = await startServer({ port: 0, dataDir: dir, env: { ...backend }, environment: "test" });
    try {
      const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"));
      expect(lock).toMatchObject({ pid: process.pid, url: server.url });

      const second = createLocalServices({ dataDir: dir, env: { ...backend }, environment: "test" });
      await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
      await expect(second).rejects.toThrow(new RegExp(`DATA_DIR ${dir} is in use by another Parley process \\(pid ${process.pid}, serving ${server.url}\\)`));

      const { stdout } = await run("npx", ["tsx", "scripts/seed.ts"], {
        env: { ...process.env, ...backend, DATA_DIR: dir, SEED_EMAIL: "lock-demo@parley.example" },
        timeout: 120_000,
      });
      expect(stdout).toContain(`seeding through ${server.url}`);
      expect(stdout).toContain(`Demo workspace ready (${server.url})`);
      // The workspace is in the server's database: its owner logs in there.
      const login = await fetch(`${server.url}/v1/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "lock-demo@parley.example", password: "demo-password-123" }),
      });
      expect(login.status).toBe(200);
    } finally {
      await server.close();
    }
    // Closed: the lock is gone and the directory opens again.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await createLocalServices({ dataDir: dir, env: { ...backend }, environment: "test" });
    await again.close();
  });

  it("a lock of a process that is gone is taken over; one of a live process is not", async () => {
    const dir = tempDir();
    const dead = await run(process.execPath, ["-e", "console.log(process.pid)"]);
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: Number(dead.stdout.trim()), started_at: new Date().toISOString() }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    expect(() => lockDataDir(dir)).toThrow(DataDirLockedError); // the same process, twice
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    // An unreadable lock file is stale too.
    writeFileSync(join(dir, LOCK_FILE), "{half-writ");
    lockDataDir(dir).release();

    const alive: ChildProcess = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: alive.pid, started_at: new Date().toISOString() }));
      expect(() => lockDataDir(dir)).toThrow(`(pid ${alive.pid})`);
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(alive.pid);
    } finally {
      alive.kill();
    }
  });
});
