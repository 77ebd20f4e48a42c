// Summaries against a fake OpenAI-compatible server on loopback (the real openai SDK, the real
// json_schema wire format): the structured answer is stored; a failing provider is retried by
// QStash and recorded as failed on the last attempt, then a new request succeeds; a redelivered
// job calls the model once.
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { insertSummaryRequest } from "../../functions/conversations/summaries.service";
import { SummaryObject } from "../../functions/conversations/summaries";
import { jobRuns, summaries } from "../../schema";
import { FAKE_MODEL, startFakeOpenAI } from "../support/fake-openai";
import { createHarness } from "../support/harness";
import { CONTENT, newConversation, poll, settledConversation, settledSummary, signedSummaryDelivery } from "./helpers";
import { eq } from "drizzle-orm";

const fake = await startFakeOpenAI();
afterAll(() => fake.close());
const h = await createHarness({ OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: fake.url, OPENAI_MODEL: FAKE_MODEL, OPENAI_MAX_RETRIES: "0", OPENAI_TIMEOUT_MS: "2000" });
const qstash = h.services.qstash!;

const ANSWER = {
  title: "Broken lamp, refund asked",
  content: "The customer's lamp arrived cracked; they want a replacement or a refund and the return label.",
  sentiment: "negative",
  topics: ["damaged order", "refund"],
  action_items: ["Send the return label", "Refund order A-1042"],
  language: "en",
};

const summaryCalls = () => fake.requests.filter((r) => r.body?.response_format?.type === "json_schema");

beforeEach(() => {
  fake.reset();
  fake.setDefault({});
});

describe("summaries on an OpenAI-compatible provider", () => {
  it("asks with a strict json_schema built from the summary schema and stores the answer", async () => {
    const t = await h.signUp();
    fake.enqueue({ json: ANSWER });
    const conv = await newConversation(h, t, { content: CONTENT });
    const done = await settledConversation(h, t, conv.id);
    expect(done.processing_status).toBe("completed");
    expect(done.summary).toEqual({ ...ANSWER, style: "concise" });
    const [call] = summaryCalls();
    expect(call).toBeDefined();
    const rf = call!.body.response_format;
    expect(rf.json_schema).toMatchObject({ name: "conversation_summary", strict: true });
    expect(Object.keys(rf.json_schema.schema.properties).sort()).toEqual(["action_items", "content", "language", "sentiment", "title", "topics"]);
    expect(rf.json_schema.schema.additionalProperties).toBe(false);
    expect(call!.body.model).toBe(FAKE_MODEL);
    expect(call!.body.messages[0].role).toBe("system");
    expect(call!.body.messages[1].content).toContain("arrived broken");
    const [s] = (await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token })).body.data;
    expect(SummaryObject.parse(s)).toMatchObject({ status: "completed", model: FAKE_MODEL, usage: { estimated: false } });
  });

  it("passes the language and style asked for in the prompt", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t, { content: CONTENT });
    await settledConversation(h, t, conv.id);
    fake.reset();
    fake.enqueue({ json: { ...ANSWER, language: "es" } });
    const r = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: { language: "es", style: "detailed" } });
    expect(r.status).toBe(202);
    const s = await settledSummary(h, t, r.body.id);
    expect(s.result).toMatchObject({ language: "es", style: "detailed" });
    const system = summaryCalls()[0]!.body.messages[0].content as string;
    expect(system).toContain("Write the summary in es");
    expect(system).toMatch(/detailed paragraph/);
  });

  it("a failing provider is retried by QStash, then recorded as failed with its error; a new request then succeeds", async () => {
    const t = await h.signUp();
    fake.setDefault({ status: 500 });
    const conv = await newConversation(h, t, { content: CONTENT });
    // Attempts 2 and 3 fall due on QStash's backoff (~12 s, then ~2.5 min): once the failed
    // attempt is queued again, move its clock.
    const requeued = (retried: number) => poll(async () => qstash.pending().some((m) => m.url.endsWith("/jobs/summaries") && m.body.length > 0 && m.retried === retried), `retry ${retried} queued`);
    await requeued(1);
    qstash.advance(15_000);
    await requeued(2);
    qstash.advance(200_000);
    const done = await settledConversation(h, t, conv.id);
    expect(done.processing_status).toBe("failed");
    expect(summaryCalls()).toHaveLength(3);
    const [failed] = (await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token })).body.data;
    expect(failed).toMatchObject({ status: "failed", result: null });
    expect(failed.error).toMatch(/answered 500/);
    expect(done.summary).toBeNull();

    fake.setDefault({});
    fake.enqueue({ json: ANSWER });
    const again = await h.call("POST", `/v1/conversations/${conv.id}/summaries`, { token: t.token, body: {} });
    expect(again.status).toBe(202);
    expect((await settledSummary(h, t, again.body.id)).status).toBe("completed");
    const after = await settledConversation(h, t, conv.id);
    expect(after).toMatchObject({ processing_status: "completed", summary: { ...ANSWER, style: "concise" } });
    // The failed one stays in the history with its error.
    const hist = (await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token })).body.data;
    expect(hist.map((x: { status: string }) => x.status)).toEqual(["completed", "failed"]);
  });

  it("a malformed answer fails at once (no retry can fix the shape)", async () => {
    const t = await h.signUp();
    fake.enqueue({ json: { title: "only a title" } });
    const conv = await newConversation(h, t, { content: CONTENT });
    const done = await settledConversation(h, t, conv.id);
    expect(done.processing_status).toBe("failed");
    const [s] = (await h.call("GET", `/v1/conversations/${conv.id}/summaries`, { token: t.token })).body.data;
    expect(s.error).toMatch(/does not match/);
    expect(summaryCalls()).toHaveLength(1);
  });

  it("the same signed job delivered twice (and concurrently) summarises once, with one model call", async () => {
    const t = await h.signUp();
    // A conversation without content (no job of its own), and a summary request not published:
    // this test is the only one delivering its job.
    const conv = await newConversation(h, t);
    await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { sender_type: "contact", content: CONTENT } });
    const row = await h.services.db.transaction((tx) => insertSummaryRequest(tx, t.workspaceId, conv.id, {}, "test"));
    const payload = { workspace_id: t.workspaceId, summary_id: row.id, conversation_id: conv.id };
    const key = `summary:${row.id}`;
    fake.setDefault({ json: ANSWER, delayMs: 50 });
    const first = await Promise.all([h.dispatch(signedSummaryDelivery(h, key, payload, "msg_a")), h.dispatch(signedSummaryDelivery(h, key, payload, "msg_b"))]);
    // The one that finds the job running (its model call under way) is asked to come back: 503.
    expect(first.map((r) => r.status).sort()).toEqual([200, 503]);
    const busy = first.find((r) => r.status === 503)!;
    expect(busy.headers.get("retry-after")).toBeTruthy();
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    const again = await h.dispatch(signedSummaryDelivery(h, key, payload, "msg_b", 1));
    const done = first.find((r) => r.status === 200)!;
    const acks = (await Promise.all([done, again].map((r) => r.json()))) as Array<{ status: string; duplicate: boolean }>;
    expect(again.status).toBe(200);
    expect(acks).toEqual([expect.objectContaining({ status: "completed", duplicate: false }), expect.objectContaining({ status: "completed", duplicate: true })]);
    expect(summaryCalls()).toHaveLength(1);
    const rows = await h.services.db.select().from(summaries).where(eq(summaries.conversationId, conv.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "completed", result: { ...ANSWER, style: "concise" } });
  });

  it("holds no transaction while the model answers: another workspace is served meanwhile", async () => {
    const t = await h.signUp();
    const other = await h.signUp();
    const conv = await newConversation(h, t);
    await h.call("POST", `/v1/conversations/${conv.id}/messages`, { token: t.token, body: { sender_type: "contact", content: CONTENT } });
    const row = await h.services.db.transaction((tx) => insertSummaryRequest(tx, t.workspaceId, conv.id, {}, "test"));
    const payload = { workspace_id: t.workspaceId, summary_id: row.id, conversation_id: conv.id };
    fake.setDefault({ json: ANSWER, delayMs: 1500 });
    const job = h.dispatch(signedSummaryDelivery(h, `summary:${row.id}`, payload));
    await poll(async () => summaryCalls().length > 0, "the model call to start");
    // While the model thinks, the run is claimed (running) and writes from other requests go through.
    const [run] = await h.services.db.select().from(jobRuns).where(eq(jobRuns.dedupKey, `summary:${row.id}`));
    expect(run?.status).toBe("running");
    const created = await h.call("POST", "/v1/conversations", { token: other.token, body: { title: "meanwhile", source: "api" } });
    expect(created.status).toBe(201);
    const listed = await h.call("GET", "/v1/conversations", { token: other.token });
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    expect(fake.open()).toBe(1);
    expect((await h.call("GET", `/v1/summaries/${row.id}`, { token: t.token })).body.status).toBe("processing");
    expect((await job).status).toBe(200);
    expect((await settledSummary(h, t, row.id)).status).toBe("completed");
  });

  it("an unsigned or wrongly signed delivery is refused (401) and calls no model", async () => {
    const t = await h.signUp();
    const conv = await newConversation(h, t);
    const row = await h.services.db.transaction((tx) => insertSummaryRequest(tx, t.workspaceId, conv.id, {}, "test"));
    const req = signedSummaryDelivery(h, `summary:${row.id}`, { workspace_id: t.workspaceId, summary_id: row.id, conversation_id: conv.id });
    const forged = new Request(req.url, { method: "POST", body: await req.clone().text(), headers: { ...Object.fromEntries(req.headers), "upstash-signature": "eyJ.forged.sig" } });
    expect((await h.dispatch(forged)).status).toBe(401);
    expect(summaryCalls()).toHaveLength(0);
  });
});
