// /v1/account and /v1/account/usage: plan and limits, storage from files, requests counted per
// route template, the daily quota's 429, and usage persisted to api_usage_daily.
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { PLANS } from "../../lib/plans";
import { dayOf, persistUsage, TOTAL_FIELD, usageKey } from "../../lib/usage";
import { apiUsageDaily, files } from "../../schema";
import { createHarness, expectError } from "../support/harness";

const h = await createHarness();

describe("account", () => {
  it("shows the plan, storage from undeleted files and today's requests", async () => {
    const t = await h.signUp();
    await h.services.db.insert(files).values([
      { id: newId("file"), workspaceId: t.workspaceId, kind: "upload", filename: "a", size: 2 * 1_048_576, mimeType: "text/plain", storageKey: "k1" },
      { id: newId("file"), workspaceId: t.workspaceId, kind: "export", filename: "b", size: 1_048_576, mimeType: "text/csv", storageKey: "k2" },
      { id: newId("file"), workspaceId: t.workspaceId, kind: "upload", filename: "c", size: 5 * 1_048_576, mimeType: "text/plain", storageKey: "k3", deletedAt: new Date() },
    ]);
    for (let i = 0; i < 3; i++) expect((await h.call("GET", "/v1/tags", { token: t.token })).status).toBe(200);
    const r = await h.call("GET", "/v1/account", { token: t.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ workspace: { id: t.workspaceId }, plan: "free", storage: { used_mb: 3, limit_mb: PLANS.free.storageMb, files: 2 }, api_usage: { limit_per_day: PLANS.free.requestsPerDay } });
    expect(r.body.api_usage.requests_today).toBeGreaterThanOrEqual(4);
    expectError(await h.call("GET", "/v1/account"), 401, "unauthorized");
  });

  it("reports usage by endpoint (route template), storage by type, and persists the counters", async () => {
    const t = await h.signUp();
    const tag = (await h.call("POST", "/v1/tags", { token: t.token, body: { name: "x" } })).body;
    await h.call("GET", `/v1/tags/${tag.id}`, { token: t.token });
    await h.call("GET", `/v1/tags/${tag.id}`, { token: t.token });
    const r = await h.call("GET", "/v1/account/usage", { token: t.token });
    expect(r.status, r.text).toBe(200);
    const byEndpoint = Object.fromEntries(r.body.api_requests.by_endpoint.map((e: { endpoint: string; requests: number }) => [e.endpoint, e.requests]));
    expect(byEndpoint["GET /v1/tags/{id}"]).toBe(2);
    expect(byEndpoint["POST /v1/tags"]).toBe(1);
    expect(JSON.stringify(r.body)).not.toContain(tag.id);
    const day = dayOf(Date.now());
    await persistUsage(h.services.db, h.services.kv, day, [t.workspaceId]);
    const rows = await h.services.db.select().from(apiUsageDaily);
    expect(rows.find((x) => x.workspaceId === t.workspaceId && x.route === "GET /v1/tags/{id}")?.requests).toBe(2);
    expectError(await h.call("GET", "/v1/account/usage?from=2026-13-01", { token: t.token }), 400, "bad_request");
    expectError(await h.call("GET", "/v1/account/usage?from=2026-02-01&to=2026-01-01", { token: t.token }), 400, "bad_request");
  });

  it("answers 429 daily_quota past the plan's requests of the day, but still shows /v1/account", async () => {
    const t = await h.signUp();
    await h.services.kv.hincrby(usageKey(t.workspaceId, dayOf(Date.now())), { [TOTAL_FIELD]: PLANS.free.requestsPerDay });
    const r = await h.call("GET", "/v1/tags", { token: t.token });
    const err = expectError(r, 429, "rate_limit_exceeded");
    expect(err.details).toMatchObject({ reason: "daily_quota", limit: PLANS.free.requestsPerDay });
    expect(r.headers.get("retry-after")).toBeTruthy();
    expect(r.headers.get("x-ratelimit-remaining")).toBe("0");
    expect((await h.call("GET", "/v1/account", { token: t.token })).status).toBe(200);
    // Another workspace is not affected.
    const other = await h.signUp();
    expect((await h.call("GET", "/v1/tags", { token: other.token })).status).toBe(200);
  });
});
