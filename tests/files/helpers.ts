// Helpers for file tests: multipart uploads through the harness, and following signed links.
import type { Harness, Reply } from "../support/harness";

export function form(bytes: Uint8Array | string, filename = "hello.txt", type = "text/plain", field = "file"): FormData {
  const fd = new FormData();
  fd.append(field, new Blob([(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes) as BlobPart], { type }), filename);
  return fd;
}

/** POSTs multipart (the Request sets the boundary) and parses the JSON answer. */
export async function upload(h: Harness, path: string, token: string | undefined, fd: FormData, headers: Record<string, string> = {}): Promise<Reply> {
  return h.call("POST", path, { raw: fd, token, headers });
}

/** Follows a signed URL without any credentials; returns status, headers and the bytes. */
export async function fetchLink(h: Harness, url: string) {
  const res = await h.dispatch(new Request(url));
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: new TextDecoder().decode(bytes) };
}
