// Quoted phrases go through the adjacent-pairs index (search_bigrams): the pairs a query
// requires, and phrase search that finds exactly what the positional check finds.
import { describe, expect, it } from "vitest";
import { requiredBigrams } from "../../functions/conversations/search.service";
import { createHarness } from "../support/harness";
import { conv, ids, msg } from "./helpers";

const h = await createHarness();

describe("search: phrases", () => {
  it("takes the pairs a match must hold, and none it might not", () => {
    expect(requiredBigrams("'pleas' <-> 'help'")).toEqual(["pleas help"]);
    expect(requiredBigrams("'refund' & 'a' <-> 'b' <-> 'c'")).toEqual(["a b", "b c"]);
    expect(requiredBigrams("'thank' <2> 'help' & 'late' <-> 'deliveri'")).toEqual(["late deliveri"]);
    expect(requiredBigrams("'it' <-> 's' & 'o''brien' <-> 'x\\\\y'")).toEqual(["it s", "o'brien x\\y"]);
    // Alternatives, negations, prefixes and weights: nothing is required for sure.
    expect(requiredBigrams("'a' <-> 'b' | 'c'")).toEqual([]);
    expect(requiredBigrams("'x' & !( 'a' <-> 'b' )")).toEqual([]);
    expect(requiredBigrams("'x' & !'a' <-> 'b'")).toEqual([]);
    expect(requiredBigrams("'a':* <-> 'b'")).toEqual([]);
    expect(requiredBigrams("'refund'")).toEqual([]);
    expect(requiredBigrams("")).toEqual([]);
  });

  it("finds phrases across messages, titles and odd characters exactly as before", async () => {
    const t = await h.signUp();
    const together = await conv(h, t, { title: "Ticket" });
    await msg(h, t, together, "Could you please help with my order?");
    const apart = await conv(h, t, { title: "Other" });
    await msg(h, t, apart, "Help! I asked you to please check.");
    const title = await conv(h, t, { title: "Please help: late delivery" });
    const quotes = await conv(h, t, { title: "O'Brien's parcel", content: "path a\\b and it's x" });
    const twoMessages = await conv(h, t, { title: "Split" });
    await msg(h, t, twoMessages, "I said please");
    await msg(h, t, twoMessages, "help arrived");

    expect((await ids(h, t, '"please help"')).sort()).toEqual([together, title, twoMessages].sort()); // messages are one text, as before
    expect(await ids(h, t, '"late delivery" "please help"')).toEqual([title]);
    expect(await ids(h, t, '"please help" -"late delivery"', { sort: "created_at" })).toEqual([together, twoMessages]);
    expect(await ids(h, t, "\"o'brien's parcel\"")).toEqual([quotes]);
    expect(await ids(h, t, '"a\\b"')).toEqual([quotes]);
    expect(await ids(h, t, "\"it's x\"")).toEqual([quotes]);
    expect(await ids(h, t, '"help please"')).toEqual([]);
    // The list's search filter uses the same condition.
    const r = await h.call("GET", `/v1/conversations?search=${encodeURIComponent('"please help"')}`, { token: t.token });
    expect(r.status, r.text).toBe(200);
    expect((r.body.data as { id: string }[]).map((d) => d.id).sort()).toEqual([together, title, twoMessages].sort());
  });
});
