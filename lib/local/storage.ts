// Local file storage: one file per key under a directory (DATA_DIR/files on the local server).
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Storage } from "../storage";

const SAFE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,500}$/;

/** Files under `root`, one per key; the content type beside it. Keys cannot leave `root`. */
export function directoryStorage(root: string): Storage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    if (!SAFE_KEY.test(key) || key.split("/").some((p) => p === ".." || p === "." || p === "")) throw new Error(`invalid storage key: ${key}`);
    const p = resolve(join(base, key));
    if (!p.startsWith(base + sep)) throw new Error(`invalid storage key: ${key}`);
    return p;
  };
  return {
    async put(key, body, contentType) {
      const p = pathOf(key);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(`${p}.type`, contentType);
      await writeFile(p, body);
    },
    async get(key) {
      const p = pathOf(key);
      try {
        const [body, type] = await Promise.all([readFile(p), readFile(`${p}.type`, "utf8").catch(() => "application/octet-stream")]);
        return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: type };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw err;
      }
    },
    async delete(key) {
      const p = pathOf(key);
      await Promise.all([rm(p, { force: true }), rm(`${p}.type`, { force: true })]);
    },
  };
}
