// Summaries on the offline provider (parley-offline): a conversation created with content is
// summarised by the /jobs/summaries job (local QStash delivers it in-process), requested again
// with language/style, listed and read; tenancy, validation, and a queue that cannot publish.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { Summary as ConversationSummary } from "../../functions/conversations/schemas";
import { SummaryAccepted, SummaryObject } from "../../functions/conversations/summaries";
import { DependencyError } from "../../lib/errors";
import { llmUsage } from "../../schema";
import { createHarness, expectError } from "../support/harness";
import { CONTENT, newConversation, send, settledConversation, settledSummary } from "./helpers";

const h = await createHarness();

describe("summary on create", () => {
  it("a conversation created with content ends completed with its summary filled (parley-offline)", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    expect(["processing", "completed"]).toContain(conv.processing_status);
    const done = await settledConversation(h, t, conv.id);
    expect(done.processing_status).toBe("completed");
    const s = ConversationSummary.parse(done.summary);
    expect(s.style).toBe("concise");
    expect(s.sentiment).toBe("negative");
    expect(s.language).toBe("en");
    expect(s.content.length).toBeGreaterThan(10);
    expect(CONTENT).toContain(s.content.split(". ")[0]!.replace(/\.$/, "")); // extractive: its sentences come from the text
    expect(s.action_items.join(" ")).toMatch(/replacement|refund/i);
    expect(s.topics.length).toBeGreaterThan(0);

    const hist = await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token });
    expect(hist.status).toBe(200);
    expect(hist.body.meta.total).toBe(1);
    const item = SummaryObject.parse(hist.body.data[0]);
    expect(item).toMatchObject({ conversation_id: conv.id, status: "completed", model: "parley-offline", error: null, style: "concise", language: null });
    expect(item.result).toEqual(s);
    expect(item.usage?.estimated).toBe(true);
    const one = await h.call("GET", `/v1/summaries/${item.id}`, { token: t.token });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(hist.body.data[0]);

    const usage = await h.services.db.select().from(llmUsage).where(eq(llmUsage.workspaceId, t.workspaceId));
    expect(usage.map((u) => u.model)).toEqual(["parley-offline"]);
  });

  it("a conversation without content requests no summary", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t);
    expect(conv.processing_status).toBeNull();
    const hist = await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token });
    expect(hist.body).toMatchObject({ data: [], meta: { total: 0 } });
  });
});

describe("POST /v1/conversations/{id}/summaries", () => {
  it("answers 202 processing, then completes in the style asked; the history lists newest first", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    await settledConversation(h, t, conv.id);
    const r = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: { style: "bullets", language: "en" } });
    expect(r.status, r.text).toBe(202);
    expect(SummaryAccepted.parse(r.body)).toMatchObject({ conversation_id: conv.id, status: "processing" });
    expect(r.body.id).toMatch(/^sum_/);
    const s = await settledSummary(h, t, r.body.id);
    expect(s).toMatchObject({ status: "completed", style: "bullets", language: "en" });
    expect(s.result.style).toBe("bullets");
    expect(s.result.content.split("\n").every((l: string) => l.startsWith("- "))).toBe(true);
    const after = await settledConversation(h, t, conv.id);
    expect(after.summary).toEqual(s.result);
    const hist = await h.call("GET", `/v1/conversations/${conv.id}/summaries?per_page=1`, { token: t.token });
    expect(hist.body.meta).toMatchObject({ total: 2, per_page: 1, total_pages: 2 });
    expect(hist.body.data[0].id).toBe(r.body.id);
  });

  it("needs no body; summarises the messages oldest first and leaves notes out", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t);
    await send(h, t, conv.id, "contact", "The invoice for March shows the wrong amount. Please correct the invoice.");
    await send(h, t, conv.id, "note", "Internal: this customer asked for a discount before, secretword.");
    await send(h, t, conv.id, "agent", "Sorry about that. I will correct the invoice today.");
    const r = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token });
    expect(r.status, r.text).toBe(202);
    const s = await settledSummary(h, t, r.body.id);
    expect(s.status).toBe("completed");
    expect(JSON.stringify(s.result)).toMatch(/invoice/i);
    expect(JSON.stringify(s.result)).not.toContain("secretword");
    expect(s.result.topics).toContain("invoice");
  });

  it("409 when there is nothing to summarise", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t);
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: {} }), 409, "conflict");
  });

  it("422 names every invalid field", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    const e = expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: { style: "long", language: "1", extra: true } }), 422, "validation_error");
    expect(Object.keys(e.details.fields).sort()).toEqual(["_", "language", "style"].sort());
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: { language: "x".repeat(40) } }), 422, "validation_error");
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: [] }), 422, "validation_error");
  });

  it("a queue that cannot publish: 503 naming the summary, which is failed with the reason; create marks the conversation failed", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    await settledConversation(h, t, conv.id);
    const queue = h.services.queue;
    const publish = queue.publish;
    queue.publish = async () => {
      throw new DependencyError("qstash publish: fetch failed");
    };
    try {
      const r = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: {} });
      const e = expectError(r, 503, "service_unavailable");
      expect(e.details.summary_id).toMatch(/^sum_/);
      const s = await h.call("GET", `/v1/summaries/${e.details.summary_id}`, { token: t.token });
      expect(s.body).toMatchObject({ status: "failed", result: null });
      expect(s.body.error).toMatch(/could not be queued/);
      const c = await h.call("GET", `/v1/conversations/${conv.id}`, { token: t.token });
      expect(c.body.processing_status).toBe("failed");
      // The earlier completed summary is still on the conversation.
      expect(c.body.summary).not.toBeNull();

      const created = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: "x", content: CONTENT } });
      expect(created.status).toBe(201);
      expect(created.body.processing_status).toBe("failed");
    } finally {
      queue.publish = publish;
    }
    // Regenerating once the queue is back works.
    const again = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: {} });
    expect(again.status).toBe(202);
    expect((await settledSummary(h, t, again.body.id)).status).toBe("completed");
    expect((await settledConversation(h, t, conv.id)).processing_status).toBe("completed");
  });
});

describe("security", () => {
  it("401 without credentials; another workspace's conversation and summary are 404 and absent", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    await settledConversation(h, t, conv.id);
    const [sum] = (await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token })).body.data;
    expectError(await h.call("GET", `/v1/summaries/${sum.id}`), 401, "unauthorized");
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { body: {} }), 401, "unauthorized");
    expectError(await h.call("GET", `/v1/summaries/${sum.id}`, { token: other.token }), 404, "not_found");
    expectError(await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: other.token }), 404, "not_found");
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: other.token, body: {} }), 404, "not_found");
    expectError(await h.call("GET", "/v1/summaries/sum_nope", { token: t.token }), 404, "not_found");
    const mine = await newConversation(h, other, { content: "Thanks, all good." });
    await settledConversation(h, other, mine.id);
    const list = await h.call("GET", `/v1/conversations/${mine.id}/summaries`, { token: other.token });
    expect(JSON.stringify(list.body.data)).not.toContain(sum.id);
  });

  it("a read-only API key can read summaries but not request one", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    const k = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "ro", scopes: ["read"] } });
    const key = k.body.key as string;
    expect((await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: key })).status).toBe(200);
    expectError(await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: key, body: {} }), 403, "forbidden");
  });
});

describe("the job", () => {
  it("a conversation deleted before its job runs: the job is a no-op", async () => {
    const t = await h.signUp();
    const queue = h.services.queue;
    const publish = queue.publish;
    const held: Array<Parameters<typeof publish>> = [];
    // Hold the publish back until the conversation is gone.
    queue.publish = async (...args) => {
      held.push(args);
      return { messageId: "msg_held", key: "held", deduplicated: false };
    };
    let id: string;
    try {
      id = (await newConversation(h, t, { content: CONTENT })).id;
    } finally {
      queue.publish = publish;
    }
    expect(held).toHaveLength(1);
    expect((await h.call("DELETE", `/v1/conversations/${id}`, { token: t.token })).status).toBe(200);
    const [job, payload, opts] = held[0]!;
    const sent = await publish(job, payload, opts);
    const { runsOf, eventually } = await import("../jobs/helpers");
    const [run] = await eventually(async () => {
      // The run's row exists while it is still running (a CI run on PostgreSQL read it then).
      const runs = await runsOf(h.services.db, "summaries", sent.key);
      return runs.length && runs.every((r) => r.status !== "running") ? runs : undefined;
    });
    expect(run).toMatchObject({ status: "completed", result: { status: "skipped" } });
  });
});
