// The Node stand-in for the docs Worker's static assets: serves Scalar's standalone bundle
// from node_modules at /docs/scalar.js (gzipped once, ETag), so /docs works with no network.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { DocsAssetSource } from "../env";

const FILES: Record<string, string> = {
  "/docs/scalar.js": "dist/browser/standalone.js",
};

function packageDir(): string {
  const require = createRequire(import.meta.url);
  // The package's exports map hides package.json; its main entry is dist/index.js.
  return dirname(dirname(require.resolve("@scalar/api-reference")));
}

interface Loaded {
  raw: Buffer;
  gzip: Buffer;
  etag: string;
}

export function nodeDocsAssets(root: string = packageDir()): DocsAssetSource {
  const cache = new Map<string, Loaded | null>();
  const load = (path: string): Loaded | null => {
    if (!cache.has(path)) {
      const rel = FILES[path];
      let loaded: Loaded | null = null;
      if (rel) {
        try {
          const raw = readFileSync(join(root, rel));
          loaded = { raw, gzip: gzipSync(raw), etag: `"${createHash("sha256").update(raw).digest("base64url").slice(0, 27)}"` };
        } catch {
          loaded = null;
        }
      }
      cache.set(path, loaded);
    }
    return cache.get(path) ?? null;
  };

  return {
    async fetch(input) {
      const req = typeof input === "string" ? new Request(input) : input;
      const file = load(new URL(req.url).pathname);
      if (!file) return new Response("Not found", { status: 404 });
      const headers = new Headers({ "content-type": "text/javascript; charset=utf-8", etag: file.etag });
      if (req.headers.get("if-none-match") === file.etag) return new Response(null, { status: 304, headers });
      const gzip = /\bgzip\b/.test(req.headers.get("accept-encoding") ?? "");
      const body = gzip ? file.gzip : file.raw;
      if (gzip) headers.set("content-encoding", "gzip");
      headers.set("content-length", String(body.length));
      return new Response(new Uint8Array(body), { status: 200, headers });
    },
  };
}
