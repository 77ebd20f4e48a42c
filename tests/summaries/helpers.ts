// Helpers of the summaries and suggest tests: conversations through the API, bounded polling of
// background work, and QStash-signed deliveries of the summaries job.
import { expect } from "vitest";
import { signQStashJwt } from "../../lib/local/qstash";
import type { Harness, Tenant } from "../support/harness";
import { unique } from "../support/harness";

export const CONTENT =
  "My order A-1042 arrived broken and I am really frustrated. The box was damaged and the lamp inside is cracked. Please send a replacement or refund the order. I also need the return label.";

export async function newConversation(h: Harness, t: Pick<Tenant, "token">, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: unique("conv"), ...body } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string; processing_status: string | null; [k: string]: any };
}

export async function send(h: Harness, t: Pick<Tenant, "token">, conversationId: string, sender_type: string, content: string) {
  const r = await h.call("POST", `/v1/conversations/${conversationId}/messages`, { token: t.token, body: { sender_type, content } });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: string };
}

/** Polls `fn` until it returns something truthy; gives up after `tries` × 25 ms. */
export async function poll<T>(fn: () => Promise<T | undefined | null | false>, what: string, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The conversation once its processing_status has left `processing`. */
export async function settledConversation(h: Harness, t: Pick<Tenant, "token">, id: string) {
  return poll(async () => {
    const r = await h.call("GET", `/v1/conversations/${id}`, { token: t.token });
    return r.status === 200 && r.body.processing_status !== "processing" ? r.body : undefined;
  }, `conversation ${id} to settle`);
}

/** The summary once its status has left `processing`. */
export async function settledSummary(h: Harness, t: Pick<Tenant, "token">, id: string) {
  return poll(async () => {
    const r = await h.call("GET", `/v1/summaries/${id}`, { token: t.token });
    return r.status === 200 && r.body.status !== "processing" ? r.body : undefined;
  }, `summary ${id} to settle`);
}

/** A delivery of the summaries job exactly as QStash signs it. */
export function signedSummaryDelivery(h: Harness, key: string, payload: Record<string, string>, messageId = `msg_${unique("m")}`, retried = 0) {
  const url = `${h.services.config.publicBaseUrl}/jobs/summaries`;
  const body = JSON.stringify({ key, payload });
  return new Request(url, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "upstash-signature": signQStashJwt(h.services.config.qstashSigningKeys!.current, url, body),
      "upstash-message-id": messageId,
      "upstash-retried": String(retried),
    },
  });
}
