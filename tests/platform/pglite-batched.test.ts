// PGlite with each query in one protocol call (lib/local/pglite-batched.ts): the same rows,
// values, errors and locking as PGlite's own `query`, which a second, unwrapped instance answers.
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchQueries } from "../../lib/local/pglite-batched";

let plain: PGlite;
let batched: PGlite;
const SCHEMA = `
  create table t (id int primary key, name text unique, at timestamptz, doc jsonb, tags text[], ok boolean, big bigint, n numeric, raw bytea);
`;

beforeAll(async () => {
  [plain, batched] = await Promise.all([PGlite.create(), PGlite.create().then(batchQueries)]);
  await plain.exec(SCHEMA);
  await batched.exec(SCHEMA);
});
afterAll(async () => {
  await plain.close();
  await batched.close();
});

const both = async <T>(f: (db: PGlite) => Promise<T>): Promise<[T, T]> => [await f(plain), await f(batched)];
const insert = "insert into t (id, name, at, doc, tags, ok, big, n, raw) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *";
const row = (id: number) => [id, `name ${id} 'quoted' \\ é`, new Date(Date.UTC(2026, 0, id, 12)), { nested: { list: [1, "two"] }, id }, ["a", "b,c", 'd"e', null], id % 2 === 0, 2n ** 40n + BigInt(id), "12.50", new Uint8Array([0, 1, 255])];

describe("batchQueries", () => {
  it("stores and returns every kind of value as PGlite's own query does", async () => {
    for (let id = 1; id <= 3; id++) {
      const [a, b] = await both((db) => db.query(insert, row(id)));
      expect(b.rows).toEqual(a.rows);
      expect(b.fields).toEqual(a.fields);
      expect(b.affectedRows).toBe(1);
    }
    const [a, b] = await both((db) => db.query("select * from t where id = any($1::int[]) and at < $2 order by id", [[1, 2, 3], new Date(Date.UTC(2027, 0, 1))]));
    expect(b.rows).toEqual(a.rows);
    expect(b.rows).toHaveLength(3);
    expect(b.rows[0]).toMatchObject({ doc: { nested: { list: [1, "two"] } }, tags: ["a", "b,c", 'd"e', null], ok: false, big: 2 ** 40 + 1 });
    // drizzle's options: array rows and its own parsers.
    const opts = { rowMode: "array" as const, parsers: { 1184: (v: string) => `ts:${v}` } };
    const [c, d] = await both((db) => db.query("select id, at, null::text as none from t where name = $1", [row(2)[1]], opts));
    expect(d.rows).toEqual(c.rows);
    expect(String((d.rows[0] as unknown[])[1])).toMatch(/^ts:2026-01-02/);
  });

  it("answers statements without rows and with parameters it infers", async () => {
    const [a, b] = await both((db) => db.query("update t set ok = $1 where id > $2", [true, 1]));
    expect(b.affectedRows).toBe(a.affectedRows);
    expect(b.rows).toEqual([]);
    const [c, d] = await both((db) => db.query("select $1::text as s, $2 || 'x' as t", ["one", "two"]));
    expect(d.rows).toEqual(c.rows);
  });

  it("throws the database's error, decorated as PGlite does, and the connection carries on", async () => {
    const [a, b] = await both((db) => db.query(insert, row(1)).then(() => ({}) as Record<string, unknown>, (e: unknown) => e as Record<string, unknown>));
    expect(b).toMatchObject({ code: "23505", constraint: "t_pkey", query: insert });
    expect(b.message).toBe(a.message);
    expect(b.params).toEqual(row(1));
    const syntax = await batched.query("select from where", []).catch((e: unknown) => e as Record<string, unknown>);
    expect(syntax).toMatchObject({ code: "42601" });
    const bad = await batched.query("select $1::int as n", ["not a number"]).catch((e: unknown) => e as Record<string, unknown>);
    expect(bad).toMatchObject({ code: "22P02" });
    expect((await batched.query<{ n: number }>("select $1::int as n", [7])).rows).toEqual([{ n: 7 }]);
  });

  it("runs transactions through the same path: commit, rollback on error, closed after the end", async () => {
    await batched.transaction(async (tx) => {
      await tx.query("insert into t (id, name) values ($1, $2)", [10, "ten"]);
      expect((await tx.query("select count(*)::int as n from t where id = $1", [10])).rows).toEqual([{ n: 1 }]);
    });
    await expect(
      batched.transaction(async (tx) => {
        await tx.query("insert into t (id, name) values ($1, $2)", [11, "eleven"]);
        await tx.query("insert into t (id, name) values ($1, $2)", [12, "ten"]); // unique name
      }),
    ).rejects.toMatchObject({ code: "23505" });
    expect((await batched.query("select id from t where id in (10, 11, 12) order by id", [])).rows).toEqual([{ id: 10 }]);
    let kept: { query: PGlite["query"] } | undefined;
    await batched.transaction(async (tx) => {
      kept = tx;
    });
    await expect(kept!.query("select 1", [])).rejects.toThrow("Transaction is closed");
  });

  it("keeps another query out of an open transaction, as PGlite does", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: string[] = [];
    const tx = batched.transaction(async (t) => {
      await t.query("insert into t (id, name) values ($1, $2)", [20, "twenty"]);
      seen.push("tx wrote");
      await gate;
      await t.query("update t set name = $1 where id = $2", ["twenty!", 20]);
      seen.push("tx done");
    });
    const outside = batched.query<{ name: string }>("select name from t where id = $1", [20]).then((r) => {
      seen.push(`outside read ${r.rows[0]?.name}`);
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toEqual(["tx wrote"]);
    release();
    await Promise.all([tx, outside]);
    expect(seen).toEqual(["tx wrote", "tx done", "outside read twenty!"]);
  });
});
