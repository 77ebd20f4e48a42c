// File bytes behind one small interface: R2 (the `FILES` binding) on Workers, a directory under
// DATA_DIR on the local server (lib/local/storage.ts), memory in tests. Keys are chosen by the caller and always start
// with the workspace id (`ws_…/file_…`), so one workspace's objects never share a key with another's.

export interface StoredObject {
  body: Uint8Array;
  contentType: string;
}

export interface Storage {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** null when there is no such object. */
  get(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
}

/** The subset of Cloudflare's R2Bucket that Parley uses. */
export interface R2Like {
  put(key: string, value: Uint8Array, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer>; httpMetadata?: { contentType?: string } } | null>;
  delete(key: string): Promise<void>;
}

export function r2Storage(bucket: R2Like): Storage {
  return {
    async put(key, body, contentType) {
      await bucket.put(key, body, { httpMetadata: { contentType } });
    },
    async get(key) {
      const obj = await bucket.get(key);
      if (!obj) return null;
      return { body: new Uint8Array(await obj.arrayBuffer()), contentType: obj.httpMetadata?.contentType ?? "application/octet-stream" };
    },
    delete: (key) => bucket.delete(key),
  };
}

export function memoryStorage(): Storage {
  const objects = new Map<string, StoredObject>();
  return {
    async put(key, body, contentType) {
      objects.set(key, { body: body.slice(), contentType });
    },
    async get(key) {
      const o = objects.get(key);
      return o ? { body: o.body.slice(), contentType: o.contentType } : null;
    },
    async delete(key) {
      objects.delete(key);
    },
  };
}
