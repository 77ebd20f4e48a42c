// One process at a time on a DATA_DIR: PGlite's files (and the local queue's state) are not safe
// to open twice, and a second opener (`npm run seed` while `npm start` runs) corrupted the
// database. The holder writes DATA_DIR/parley.lock (pid, and the server's URL once it listens);
// a lock left by a process that no longer exists is taken over.
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "parley.lock";

export interface LockHolder {
  pid: number;
  /** The local server's URL, once it listens (absent for seed, migrate, or a server starting). */
  url?: string;
  started_at: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by another Parley process (pid ${holder.pid}${holder.url ? `, serving ${holder.url}` : ""}). ` +
        "Its embedded database can only be opened by one process at a time: stop that process, use another DATA_DIR, " +
        (holder.url ? `or call the running server (npm run seed does that by itself: PARLEY_URL=${holder.url}).` : "or wait for it to finish."),
    );
    this.name = "DataDirLockedError";
  }
}

/** Locks this process holds: a second opener in the same process is refused as well. */
const heldHere = new Set<string>();

export interface DataDirLock {
  readonly path: string;
  /** Records the server's URL in the lock, so that others can reach the holder. */
  announce(url: string): void;
  release(): void;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The live holder of a DATA_DIR's lock, or null (no lock, unreadable, or its process is gone;
 * our own pid counts only when this process holds it, else it is a reused pid).
 */
export function lockHolder(dataDir: string): LockHolder | null {
  const path = join(dataDir, LOCK_FILE);
  let holder: LockHolder;
  try {
    holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
  } catch {
    return null;
  }
  if (Number(holder.pid) === process.pid) return heldHere.has(path) ? holder : null;
  return processAlive(Number(holder.pid)) ? holder : null;
}

/**
 * Takes DATA_DIR's lock or throws DataDirLockedError naming the holder. The lock is created
 * atomically (a hard link of a complete file: never seen half-written); a stale one (dead pid,
 * or unreadable) is moved aside and the take retried; after taking it, it is read back, so that
 * of two processes racing for a stale lock only one goes on.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, started_at: new Date().toISOString() };
  const write = (h: LockHolder) => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(h)}\n`, { mode: 0o600 });
    return tmp;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = write(mine);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = lockHolder(dataDir);
      if (holder) throw new DataDirLockedError(dataDir, holder);
      // Stale: move it aside, then try again.
      try {
        renameSync(path, `${path}.stale`);
      } catch {
        // someone else moved it first
      }
      continue;
    } finally {
      unlinkSync(tmp);
    }
    heldHere.add(path);
    const check = lockHolder(dataDir);
    if (check?.pid !== process.pid) {
      heldHere.delete(path);
      if (check) throw new DataDirLockedError(dataDir, check);
      continue;
    }
    let held = true;
    const onExit = () => release();
    const release = () => {
      if (!held) return;
      held = false;
      process.off("exit", onExit);
      try {
        if (lockHolder(dataDir)?.pid === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
      heldHere.delete(path);
    };
    process.on("exit", onExit);
    return {
      path,
      announce(url: string) {
        if (!held) return;
        // Replace the file in one rename: readers never see it half-written.
        renameSync(write({ ...mine, url }), path);
      },
      release,
    };
  }
  throw new Error(`could not take the lock ${path}`);
}

