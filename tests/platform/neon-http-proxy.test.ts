// The local stand-in for Neon's HTTP query endpoint, driven by the real `neon()` client of
// @neondatabase/serverless: values of each type come back as the client parses them from
// Neon's text output, parameters are bound (never spliced), errors carry their SQLSTATE (so the
// 409 and 503 mappings hold), and a batch is one transaction, rolled back whole on an error.
// On real PostgreSQL when DATABASE_URL is set, else on an in-memory PGlite.
import { neon } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalHttpProxy } from "../../lib/db-neon";
import { isDependencyFailure, transactionConflict, uniqueViolation } from "../../lib/errors";
import { type NeonHttpProxy, pgliteTarget, startNeonHttpProxy } from "../../lib/local/neon-http-proxy";

const DATABASE_URL = process.env.DATABASE_URL;
// The client needs a well-formed connection string; PGlite ignores it.
const url = DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/pglite";

let proxy: NeonHttpProxy;
let closePglite: (() => Promise<void>) | undefined;
const table = `neon_http_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

beforeAll(async () => {
  if (DATABASE_URL) {
    proxy = await startNeonHttpProxy({ wsProxy: process.env.NEON_WS_PROXY });
  } else {
    const { PGlite } = await import("@electric-sql/pglite");
    const db = new PGlite();
    closePglite = () => db.close();
    proxy = await startNeonHttpProxy({ target: pgliteTarget(db) });
  }
  useLocalHttpProxy(proxy.address);
  const sql = neon(url);
  await sql.query(`create table ${table} (id int primary key, note text not null)`);
});

afterAll(async () => {
  await neon(url)
    .query(`drop table if exists ${table}`)
    .catch(() => undefined);
  await proxy.close();
  await closePglite?.();
});

describe("the Neon HTTP stand-in through the real neon() client", () => {
  it("returns each type as the client parses Neon's text output", async () => {
    const sql = neon(url);
    const [row] = await sql.query(
      `select $1::int as i, $2::text as t, true as b, null::text as n, 12.50::numeric as num, 9007199254740993::int8 as big,
              '{"a":[1,{"b":null}]}'::jsonb as jb, $3::json as j, array['x', null, 'z''s'] as arr, array[1,2,3]::int[] as ints,
              '\\x00ff'::bytea as bytes, 'é ✓ 😀' as uni`,
      [42, "hello", JSON.stringify({ k: "v" })],
    );
    expect(row).toEqual({
      i: 42,
      t: "hello",
      b: true,
      n: null,
      num: "12.50",
      big: "9007199254740993",
      jb: { a: [1, { b: null }] },
      j: { k: "v" },
      arr: ["x", null, "z's"],
      ints: [1, 2, 3],
      bytes: Buffer.from([0, 255]),
      uni: "é ✓ 😀",
    });
  });

  it("binds parameters: SQL in a value stays a value", async () => {
    const sql = neon(url);
    const evil = `x'); drop table ${table}; --`;
    await sql.query(`insert into ${table} (id, note) values ($1, $2)`, [1, evil]);
    const rows = await sql.query(`select note from ${table} where id = $1`, [1]);
    expect(rows).toEqual([{ note: evil }]);
    // Nulls and arrays as parameters.
    const [r] = await sql.query("select $1::text is null as isnull, $2::text[] as arr", [null, ["a", "b,c", null]]);
    expect(r).toEqual({ isnull: true, arr: ["a", "b,c", null] });
  });

  it("answers full results (fields, rowCount, command) as drizzle asks for them", async () => {
    const sql = neon(url);
    const r = await sql.query(`update ${table} set note = note where id = $1`, [1], { fullResults: true });
    expect(r.rowCount).toBe(1);
    expect(r.command).toBe("UPDATE");
    const s = await sql.query("select 1 as one", [], { fullResults: true, arrayMode: true });
    expect(s.rows).toEqual([[1]]);
    expect(s.fields.map((f) => [f.name, f.dataTypeID])).toEqual([["one", 23]]);
  });

  it("gives errors their SQLSTATE and constraint: 23505 → 409, 40P01 → 503", async () => {
    const sql = neon(url);
    const dup = await sql.query(`insert into ${table} (id, note) values (1, 'again')`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(dup).toMatchObject({ name: "NeonDbError", code: "23505", constraint: `${table}_pkey` });
    expect(uniqueViolation(dup)).toEqual({ constraint: `${table}_pkey` });
    const deadlock = await sql.query("do $$ begin raise exception 'deadlock detected' using errcode = '40P01'; end $$").catch((e: unknown) => e);
    expect(deadlock).toMatchObject({ code: "40P01", message: "deadlock detected" });
    expect(transactionConflict(deadlock)).toBe("40P01");
    const syntax = await sql.query("selec 1").catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: "42601" });
    expect(isDependencyFailure(syntax)).toBe(false);
    const unavailable = await sql.query("do $$ begin raise exception 'too many' using errcode = '53300'; end $$").catch((e: unknown) => e);
    expect(isDependencyFailure(unavailable)).toBe(true);
  });

  it("runs a batch as one transaction in one request, rolled back whole when a statement fails", async () => {
    const sql = neon(url);
    const before = proxy.stats.fetches;
    const [a, b] = await sql.transaction([sql.query(`insert into ${table} (id, note) values (2, 'two') returning id`), sql.query(`select count(*)::int as n from ${table}`)]);
    expect(proxy.stats.fetches - before).toBe(1);
    expect(a).toEqual([{ id: 2 }]);
    expect(b).toEqual([{ n: 2 }]);
    const failed = await sql
      .transaction([sql.query(`insert into ${table} (id, note) values (3, 'three')`), sql.query(`insert into ${table} (id, note) values (1, 'dup')`)])
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "23505" });
    expect(await sql.query(`select id from ${table} order by id`)).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it("applies the batch's isolation level and read-only mode", async () => {
    const sql = neon(url);
    const [iso, ro] = await sql.transaction([sql.query("show transaction_isolation"), sql.query("show transaction_read_only")], {
      isolationLevel: "Serializable",
      readOnly: true,
    });
    expect(iso?.[0]).toEqual({ transaction_isolation: "serializable" });
    expect(ro?.[0]).toEqual({ transaction_read_only: "on" });
    const refused = await sql.transaction([sql.query(`delete from ${table}`)], { readOnly: true }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "25006" });
  });
});
