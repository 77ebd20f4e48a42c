import { describe, expect, it } from "vitest";
import { hashPassword, timingSafeEqual, verifyNothing, verifyPassword } from "../../lib/passwords";

describe("PBKDF2 passwords", () => {
  it("round-trips and refuses a wrong password", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("stores pbkdf2_sha256 with 100000 iterations, a 16-byte salt and a 32-byte hash", async () => {
    const stored = await hashPassword("pässwörd ✓");
    const [scheme, iterations, salt, hash] = stored.split("$");
    expect(scheme).toBe("pbkdf2_sha256");
    expect(iterations).toBe("100000");
    expect(salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword("pässwörd ✓", stored)).toBe(true);
  });

  it("salts every hash", async () => {
    const [a, b] = await Promise.all([hashPassword("same"), hashPassword("same")]);
    expect(a).not.toBe(b);
  });

  it("refuses a tampered hash, salt or iteration count, and malformed stored values", async () => {
    const stored = await hashPassword("secret-password");
    const [scheme, iterations, salt, hash] = stored.split("$") as [string, string, string, string];
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const bad of [
      [scheme, iterations, salt, flip(hash)].join("$"),
      [scheme, iterations, flip(salt), hash].join("$"),
      [scheme, "99999", salt, hash].join("$"),
      ["pbkdf2_sha1", iterations, salt, hash].join("$"),
      [scheme, "-1", salt, hash].join("$"),
      "",
      "plaintext",
      "$$$",
    ]) {
      expect(await verifyPassword("secret-password", bad)).toBe(false);
    }
  });

  it("has a constant-shape comparison and a decoy for unknown emails", async () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(await verifyNothing("anything")).toBe(false);
  });
});
