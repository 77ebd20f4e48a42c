// Reading what a route forward carries: addresses, message ids and the new text of a reply,
// including hostile input (anyone can email a support address, so bodies and headers are
// attacker-chosen and must be read in linear time).
import { describe, expect, it } from "vitest";
import { bareMessageId, messageIds, parseAddress, parseAddressList, stripQuoted } from "../../functions/inbound/mailgun-parse";

describe("addresses and ids", () => {
  it("reads the mailbox forms mailers write", () => {
    expect(parseAddress('"Displayed From" <from+test@Example.org>')).toEqual({ email: "from+test@example.org", name: "Displayed From" });
    expect(parseAddress("bob@example.com (Bob Lee)")).toEqual({ email: "bob@example.com", name: "Bob Lee" });
    expect(parseAddress("plain@example.com")).toEqual({ email: "plain@example.com" });
    expect(parseAddress("undisclosed-recipients:;")).toBeUndefined();
    expect(parseAddressList('"Lee, Bob" <bob@example.com>, other@example.com, bob@example.com')).toEqual(["bob@example.com", "other@example.com"]);
    expect(bareMessageId(" <CAEPk3R+4Zr@mail.example.org> ")).toBe("CAEPk3R+4Zr@mail.example.org");
    expect(bareMessageId("<a b>")).toBeUndefined();
    expect(messageIds("<a@x> <b@y>\r\n <a@x>")).toEqual(["a@x", "b@y"]);
    expect(messageIds("a@x b@y")).toEqual(["a@x", "b@y"]);
  });

  it("reads hostile headers in linear time", () => {
    const started = performance.now();
    expect(parseAddressList(",".repeat(20_000))).toEqual([]);
    expect(parseAddressList(',"'.repeat(10_000))).toEqual([]);
    expect(messageIds("<".repeat(200_000))).toEqual([]);
    expect(parseAddress(`<${"a".repeat(5000)}`)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("stripQuoted", () => {
  it("cuts at attributions (one or two lines), Outlook separators, quoted lines and the signature", () => {
    expect(stripQuoted("Yes.\n\nOn Mon, Dec 1, 2026 at 9:00 AM Ada <ada@x.example> wrote:\n> Ship?")).toBe("Yes.");
    expect(stripQuoted("Yes.\n\nOn Mon, Dec 1, 2026 at 9:00 AM Ada <ada@x.example>\nwrote:\n> Ship?")).toBe("Yes.");
    expect(stripQuoted("Yes.\r\n-----Original Message-----\r\nold")).toBe("Yes.");
    expect(stripQuoted("Yes.\n________________________________\nFrom: Ada\nSent: Monday")).toBe("Yes.");
    expect(stripQuoted("Yes.\nFrom: Ada <ada@x.example>\nDate: Mon\nold")).toBe("Yes.");
    expect(stripQuoted("Top\n> quoted\nbottom\n-- \nAda")).toBe("Top\nbottom");
    // "On" at the start of an ordinary sentence is not an attribution.
    expect(stripQuoted("On Monday the parcel arrived broken.\nPlease help.")).toBe("On Monday the parcel arrived broken.\nPlease help.");
  });

  it("reads hostile bodies in linear time (whitespace-only lines, endless attributions)", () => {
    const started = performance.now();
    expect(stripQuoted(`${" \n".repeat(100_000)}x`)).toBe("");
    expect(stripQuoted(`${`On ${"x ".repeat(400)}\n`.repeat(2000)}`)).toContain("On x");
    expect(stripQuoted(`From: a\n${"From: b\n".repeat(50_000)}`)).toContain("From: a");
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
