// /docs "Test Request" (Scalar) starts from the document's examples (issue 16 item 12): an
// optional query parameter with an example is sent ticked (every list opened filtered by made-up
// values: empty), and request bodies carried ids no workspace has (the chat's both
// conversation_id and session_id, which exclude each other). The examples now work on a fresh
// server, or say plainly what to replace.
import { describe, expect, it } from "vitest";
import { createHarness } from "../support/harness";

const h = await createHarness();
const doc = (await h.call("GET", "/openapi.json")).body;
const EXAMPLE_ID = /^[a-z]+_01jd3k9v6q8f2m4x7c5b0n1p2r$/;
const operations = () =>
  Object.entries<any>(doc.paths).flatMap(([path, item]) => Object.entries<any>(item).filter(([m]) => m !== "parameters").map(([method, op]) => ({ path, method, op })));

function ids(value: unknown, at = ""): string[] {
  if (typeof value === "string") return EXAMPLE_ID.test(value) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => ids(v, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => ids(v, at ? `${at}.${k}` : k));
  return [];
}

describe("/docs Test Request examples", () => {
  it("no optional query parameter has an example (Scalar would send it ticked); the example is in its description", () => {
    const offenders: string[] = [];
    for (const { path, method, op } of operations()) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || p.required) continue;
        if (p.example !== undefined || p.examples !== undefined || p.schema?.example !== undefined || p.schema?.examples !== undefined) offenders.push(`${method} ${path} ${p.name}`);
      }
    }
    expect(offenders).toEqual([]);
    const status = doc.paths["/v1/conversations"].get.parameters.find((p: any) => p.name === "status");
    expect(status.description).toContain("Example: `open`");
  });

  it("every JSON request body has one example without made-up ids (a required one is a visible placeholder)", () => {
    const missing: string[] = [];
    const withIds: string[] = [];
    for (const { path, method, op } of operations()) {
      const media = op.requestBody?.content?.["application/json"];
      if (!media) continue;
      if (media.example === undefined) missing.push(`${method} ${path}`);
      for (const at of ids(media.example)) withIds.push(`${method} ${path} ${at}`);
    }
    expect(missing).toEqual([]);
    expect(withIds).toEqual([]);
    expect(doc.paths["/v1/chat/start"].post.requestBody.content["application/json"].example.assistant_id).toBe("<your ast_… id>");
  });

  it("the examples work as sent against a fresh workspace", async () => {
    const t = await h.signUp();
    const chat = doc.paths["/v1/chat/stream"].post.requestBody.content["application/json"].example;
    expect(chat.conversation_id !== undefined && chat.session_id !== undefined).toBe(false);
    for (const [path, status] of [
      ["/v1/chat/stream", 200],
      ["/v1/conversations", 201],
      ["/v1/contacts", 201],
      ["/v1/sessions", 201],
      ["/v1/tags", 201],
      ["/v1/assistants", 201],
      ["/v1/conversations/search", 200],
      ["/v1/exports", 202],
    ] as const) {
      const r = await h.call("POST", path, { token: t.token, body: doc.paths[path].post.requestBody.content["application/json"].example });
      expect(r.status, `${path}: ${r.text.slice(0, 300)}`).toBe(status);
    }
    // Capture needs one reference per message: the example says which to replace, and works once replaced.
    const capture = doc.paths["/v1/messages/capture"].post.requestBody.content["application/json"].example;
    expect(capture.messages[0].session_id).toBe("<your ses_… id>");
    const session = await h.call("POST", "/v1/sessions", { token: t.token, body: doc.paths["/v1/sessions"].post.requestBody.content["application/json"].example });
    const body = JSON.parse(JSON.stringify(capture).replace("<your ses_… id>", session.body.id));
    const captured = await h.call("POST", "/v1/messages/capture", { token: t.token, body });
    expect(captured.status, captured.text).toBe(200);
  });
});
