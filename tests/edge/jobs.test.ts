// A job Worker as deployed (minified without names, zod's compiler aliased away): QStash's
// signature checked by the real SDK (jose) in workerd, a redelivery answered as a duplicate, and a
// forged or tampered request refused.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signQStashJwt } from "../../lib/local/qstash";
import { skipEdge, startWorker } from "./support";

const BASE = "https://jobs.parley.test";
const current = `sig_${randomBytes(16).toString("hex")}`;
const next = `sig_${randomBytes(16).toString("hex")}`;

describe.skipIf(skipEdge)("a job in workerd", async () => {
  const w = skipEdge ? (undefined as never) : await startWorker("jobs-usage", { QSTASH_CURRENT_SIGNING_KEY: current, QSTASH_NEXT_SIGNING_KEY: next, PUBLIC_BASE_URL: BASE });
  const body = JSON.stringify({ key: `edge-usage-${Date.now()}`, payload: { rollup: true, days: 1 } });
  const post = (signature: string, raw = body, messageId = "msg_edge_1") =>
    w.call("POST", "/jobs/usage", { headers: { "content-type": "application/json", "upstash-signature": signature, "upstash-message-id": messageId }, body: JSON.parse(raw) });

  it("runs a signed delivery, and answers its redelivery as a duplicate", async () => {
    const first = await post(signQStashJwt(current, `${BASE}/jobs/usage`, body));
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ job: "usage", status: "completed", duplicate: false });
    // Signed with the next key, as QStash does after a rotation.
    const again = await post(signQStashJwt(next, `${BASE}/jobs/usage`, body), body, "msg_edge_2");
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ status: "completed", duplicate: true, run_id: first.body.run_id });
  });

  it("refuses a signature by another key, for another URL, or over another body", async () => {
    const forged = await post(signQStashJwt(`sig_${randomBytes(16).toString("hex")}`, `${BASE}/jobs/usage`, body));
    expect(forged.status, forged.text).toBe(401);
    expect(forged.body.error.code).toBe("unauthorized");
    const elsewhere = await post(signQStashJwt(current, `${BASE}/jobs/reminders`, body));
    expect(elsewhere.status).toBe(401);
    const tampered = await post(signQStashJwt(current, `${BASE}/jobs/usage`, body), JSON.stringify({ key: "other", payload: { rollup: true } }));
    expect(tampered.status).toBe(401);
  });
});
