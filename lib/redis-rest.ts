// A client for Upstash Redis's REST API (https://upstash.com/docs/redis/features/restapi), only
// what lib/kv.ts sends: one command as a JSON array POSTed to the base URL, several as an array
// of arrays POSTed to `/pipeline` (one round trip, not atomic), `Authorization: Bearer <token>`.
// Replies are `{"result": …}` or `{"error": "…"}` (HTTP 400), a pipeline's one of those per
// command. Without `Upstash-Encoding: base64` strings come back as JSON strings, which is all
// Parley stores. @upstash/redis speaks the same protocol but added ~20 KiB gzip to every Worker
// (measured: identity 196.7 → 176.5 KiB).

export type RedisArg = string | number;
export type RedisReply = string | number | null | RedisReply[];

/** A command the server refused (`{"error"}`), or an answer that is not the protocol's. */
export class RedisRestError extends Error {
  override name = "RedisRestError";
}

export interface RedisRestOptions {
  url: string;
  token: string;
  /** Bounds a command (a pipeline is one), its retry included. */
  timeoutMs: number;
  /** Waited before the one retry of a command whose request failed (not of one that timed out). */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

export interface RedisRest {
  command<T extends RedisReply = RedisReply>(cmd: RedisArg[]): Promise<T>;
  /** Every command's result in order; throws the first command's error, if any failed. */
  pipeline(cmds: RedisArg[][]): Promise<RedisReply[]>;
}

type Answer = { result?: RedisReply; error?: string };

function resultOf(answer: Answer | undefined, what: string): RedisReply {
  if (!answer || typeof answer !== "object") throw new RedisRestError(`${what}: not an Upstash REST answer`);
  if (typeof answer.error === "string") throw new RedisRestError(`${what}: ${answer.error}`);
  return answer.result ?? null;
}

export function redisRest(opts: RedisRestOptions): RedisRest {
  const base = opts.url.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const retryDelayMs = opts.retryDelayMs ?? 50;

  async function post(path: string, body: unknown, what: string): Promise<unknown> {
    // One deadline for the command, retry included.
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const init: RequestInit = {
      method: "POST",
      headers: { authorization: `Bearer ${opts.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    };
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, init);
    } catch (err) {
      // A refused or reset connection gets one quick retry; a deadline or an abort does not.
      if (signal.aborted || (err as { name?: unknown } | null)?.name === "AbortError") throw signal.reason ?? err;
      await new Promise((r) => setTimeout(r, retryDelayMs));
      if (signal.aborted) throw signal.reason;
      res = await doFetch(`${base}${path}`, init);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new RedisRestError(`${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    // Errors of a single command come with 400, of authentication with 401: both carry `error`.
    if (!res.ok && !(parsed && typeof parsed === "object" && "error" in parsed)) throw new RedisRestError(`${what}: HTTP ${res.status}`);
    return parsed;
  }

  return {
    async command<T extends RedisReply>(cmd: RedisArg[]) {
      const what = String(cmd[0]).toUpperCase();
      return resultOf((await post("", cmd.map(String), what)) as Answer, what) as T;
    },
    async pipeline(cmds) {
      const what = `pipeline ${cmds.map((c) => String(c[0]).toUpperCase()).join(",")}`;
      const answers = await post("/pipeline", cmds.map((c) => c.map(String)), what);
      if (!Array.isArray(answers)) {
        resultOf(answers as Answer, what); // throws the error it carries
        throw new RedisRestError(`${what}: not an array of answers`);
      }
      if (answers.length !== cmds.length) throw new RedisRestError(`${what}: ${answers.length} answers to ${cmds.length} commands`);
      return answers.map((a: Answer, i) => resultOf(a, `${what} (command ${i + 1})`));
    },
  };
}
