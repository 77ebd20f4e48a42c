// Deadlocks (40P01) and serialization failures (40001): Postgres rolled the transaction back, so
// the request is answered 503 `service_unavailable` with `details.reason: "transaction_conflict"`
// and `Retry-After: 1` (never 500), and a job answers 5xx so QStash delivers it again. The
// conflict is raised by the database itself (a trigger with that SQLSTATE), so the error comes
// through the real driver (PGlite or Neon), drizzle's wrapping and the real error handlers.
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../lib/ids";
import { messages } from "../../schema";
import { deliverJob, emailOfMessage, emailSetup, messageRow } from "../delivery/helpers";
import { createHarness, expectError, unique } from "../support/harness";
import { runsOf } from "./helpers";

const h = await createHarness();
const mg = h.services.mailgun!;

/** A trigger raising `sqlstate` on `table` for rows where `column` = `value`; returns its remover. */
async function conflictOn(table: string, column: string, value: string, sqlstate: "40001" | "40P01") {
  const fn = `conflict_${unique("f").replace(/[^a-z0-9]/gi, "_")}`.toLowerCase();
  const message = sqlstate === "40P01" ? "deadlock detected" : "could not serialize access due to concurrent update";
  await h.services.db.execute(
    sql.raw(`create function ${fn}() returns trigger language plpgsql as $$
      begin
        if new.${column} = '${value}' then raise exception '${message}' using errcode = '${sqlstate}'; end if;
        return new;
      end $$`),
  );
  await h.services.db.execute(sql.raw(`create trigger ${fn} before insert or update on ${table} for each row execute function ${fn}()`));
  return async () => {
    await h.services.db.execute(sql.raw(`drop trigger ${fn} on ${table}`));
    await h.services.db.execute(sql.raw(`drop function ${fn}()`));
  };
}

describe("a request whose transaction hits a deadlock or a serialization failure", () => {
  for (const sqlstate of ["40P01", "40001"] as const) {
    it(`${sqlstate}: 503 service_unavailable, reason transaction_conflict, Retry-After: 1, nothing written; the retry goes through`, async () => {
      const t = await h.signUp();
      const name = unique("conflicted");
      const remove = await conflictOn("contacts", "name", name, sqlstate);
      let removed = false;
      try {
        const r = await h.call("POST", "/v1/contacts", { token: t.token, body: { name, email: `${name}@customer.example` } });
        const err = expectError(r, 503, "service_unavailable");
        expect(err.details).toEqual({ reason: "transaction_conflict" });
        expect(err.message).not.toMatch(/deadlock|serializ|insert|contacts/i);
        expect(r.headers.get("retry-after")).toBe("1");
        expect(r.headers.get("x-request-id")).toBe(err.request_id);
        const list = await h.call("GET", `/v1/contacts?search=${encodeURIComponent(name)}`, { token: t.token });
        expect(list.body.meta.total).toBe(0);
        await remove();
        removed = true;
        const again = await h.call("POST", "/v1/contacts", { token: t.token, body: { name, email: `${name}@customer.example` } });
        expect(again.status).toBe(201);
      } finally {
        if (!removed) await remove();
      }
    });
  }
});

describe("a job whose transaction hits a deadlock", () => {
  it("answers 503 with Retry-After: 1 (QStash retries), records the run as retrying, keeps the message queued; the next delivery sends it once", async () => {
    const t = await h.signUp();
    const s = await emailSetup(h, t);
    // Written directly: no after-commit publish races the deliveries below.
    const id = newId("msg");
    await h.services.db.insert(messages).values({ id, workspaceId: t.workspaceId, conversationId: s.conversationId, senderType: "agent", content: "after the deadlock", source: "api", status: "queued", deliveryStatus: "queued" });
    const remove = await conflictOn("emails", "message_id", id, "40P01");
    let removed = false;
    const key = `delivery:${id}`;
    try {
      const first = await deliverJob(h, { workspace_id: t.workspaceId, message_id: id }, key, 0);
      expect(first.status).toBe(503);
      expect(first.headers.get("retry-after")).toBe("1");
      expect(first.body.error).toMatchObject({ code: "service_unavailable", details: { reason: "transaction_conflict" } });
      const [run] = await runsOf(h.services.db, "deliveries", key);
      expect(run).toMatchObject({ status: "retrying" });
      expect(run!.error).toMatch(/40P01/);
      expect(await messageRow(h, id)).toMatchObject({ deliveryStatus: "queued" });
      expect(await emailOfMessage(h, t.workspaceId, id)).toBeUndefined();
      expect(mg.sentTo(s.contactEmail)).toHaveLength(0);
      await remove();
      removed = true;
    } finally {
      if (!removed) await remove();
    }
    const retry = await deliverJob(h, { workspace_id: t.workspaceId, message_id: id }, key, 1);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: "completed", duplicate: false });
    expect(await messageRow(h, id)).toMatchObject({ deliveryStatus: "sent" });
    expect(mg.sentTo(s.contactEmail).map((m) => m.text)).toEqual(["after the deadlock"]);
  });
});
