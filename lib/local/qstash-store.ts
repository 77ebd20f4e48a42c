// The local QStash server's state (pending messages, schedules, deduplication ids) and its
// persistence: an append-only JSON-lines log in DATA_DIR, replayed on start and compacted into
// a snapshot when it grows, so a reminder published for next week survives `npm start`
// restarts. Appends are group-committed: a publish is acknowledged once its line is written.
import { existsSync } from "node:fs";
import { appendFile, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface StoredMessage {
  id: string;
  url: string;
  method: string;
  /** Headers delivered with the message (forwarded ones, Content-Type). */
  headers: Record<string, string>;
  /** Body, base64. */
  body: string;
  /** Next delivery attempt, ms since epoch (local QStash clock). */
  notBefore: number;
  retries: number;
  retried: number;
  createdAt: number;
  scheduleId?: string;
  dedupId?: string;
}

export interface StoredSchedule {
  id: string;
  cron: string;
  destination: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  retries: number;
  /** Seconds between a firing and its delivery. */
  delay: number;
  createdAt: number;
}

type Line =
  | { op: "put"; m: StoredMessage }
  | { op: "del"; id: string }
  | { op: "sput"; s: StoredSchedule }
  | { op: "sdel"; id: string }
  | { op: "dedup"; k: string; id: string; at: number };

const FILE = "qstash.jsonl";

export class QStashStore {
  readonly messages = new Map<string, StoredMessage>();
  readonly schedules = new Map<string, StoredSchedule>();
  readonly dedup = new Map<string, { id: string; at: number }>();
  private buffer: string[] = [];
  private flushing: Promise<void> | null = null;
  private waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  private linesSinceSnapshot = 0;

  private constructor(
    private readonly file: string | null,
    private readonly dedupWindowMs: number,
  ) {}

  static async open(dataDir: string | null, dedupWindowMs: number, now: number): Promise<QStashStore> {
    const store = new QStashStore(dataDir ? join(dataDir, FILE) : null, dedupWindowMs);
    if (store.file && existsSync(store.file)) {
      const text = await readFile(store.file, "utf8");
      for (const line of text.split("\n")) {
        if (!line) continue;
        try {
          store.apply(JSON.parse(line) as Line);
        } catch {
          // A torn last line from a crash: everything before it is intact.
        }
      }
      for (const [k, v] of store.dedup) if (now - v.at > dedupWindowMs) store.dedup.delete(k);
      await store.snapshot();
    }
    return store;
  }

  private apply(l: Line) {
    if (l.op === "put") this.messages.set(l.m.id, l.m);
    else if (l.op === "del") this.messages.delete(l.id);
    else if (l.op === "sput") this.schedules.set(l.s.id, l.s);
    else if (l.op === "sdel") this.schedules.delete(l.id);
    else if (l.op === "dedup") this.dedup.set(l.k, { id: l.id, at: l.at });
  }

  private write(l: Line) {
    this.apply(l);
    if (!this.file) return;
    this.buffer.push(JSON.stringify(l));
    this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
  }

  putMessage(m: StoredMessage) {
    this.write({ op: "put", m });
  }
  deleteMessage(id: string) {
    if (this.messages.has(id)) this.write({ op: "del", id });
  }
  putSchedule(s: StoredSchedule) {
    this.write({ op: "sput", s });
  }
  deleteSchedule(id: string) {
    if (this.schedules.has(id)) this.write({ op: "sdel", id });
  }
  remember(k: string, id: string, at: number) {
    this.write({ op: "dedup", k, id, at });
  }
  recall(k: string, now: number): string | undefined {
    const hit = this.dedup.get(k);
    if (!hit) return undefined;
    if (now - hit.at > this.dedupWindowMs) {
      this.dedup.delete(k);
      return undefined;
    }
    return hit.id;
  }

  /** Resolves once every change made so far is on disk. */
  commit(): Promise<void> {
    if (!this.file) return Promise.resolve();
    // Nothing buffered: what was changed is in the write under way (if any).
    if (this.buffer.length === 0) return this.flushing ?? Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async flush(): Promise<void> {
    // One writer at a time: appends, then (when the log has grown) a compaction, until the
    // buffer is empty.
    while (this.buffer.length) {
      const lines = this.buffer;
      const waiters = this.waiters;
      this.buffer = [];
      this.waiters = [];
      try {
        await appendFile(this.file!, `${lines.join("\n")}\n`);
        this.linesSinceSnapshot += lines.length;
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
      if (this.linesSinceSnapshot > Math.max(10_000, 4 * (this.messages.size + this.schedules.size + this.dedup.size))) {
        await this.snapshot().catch(() => undefined);
      }
    }
    this.flushing = null;
  }

  /** Rewrites the log as just the live state (atomically: temp file, then rename). */
  private async snapshot() {
    if (!this.file) return;
    const lines: string[] = [];
    for (const s of this.schedules.values()) lines.push(JSON.stringify({ op: "sput", s } satisfies Line));
    for (const m of this.messages.values()) lines.push(JSON.stringify({ op: "put", m } satisfies Line));
    for (const [k, v] of this.dedup) lines.push(JSON.stringify({ op: "dedup", k, id: v.id, at: v.at } satisfies Line));
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, lines.length ? `${lines.join("\n")}\n` : "");
    await rename(tmp, this.file);
    this.linesSinceSnapshot = 0;
  }

  async close() {
    while (this.flushing) await this.flushing;
  }
}
