// What Parley writes to its logs about an error: never a failed query's parameters.
import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { describeError, describeStack } from "../../lib/errors";

const dbError = Object.assign(new Error('duplicate key value violates unique constraint "contacts_email"'), { code: "23505" });
const failed = new DrizzleQueryError("insert into contacts (id, email)\n  values ($1, $2)", ["ct_1", "jane@example.com"], dbError);

describe("describeError", () => {
  it("keeps a failed query's statement, database message and SQLSTATE, and withholds its parameters", () => {
    const line = describeError(failed);
    expect(line).toBe('Failed query: insert into contacts (id, email) values ($1, $2) (2 parameters withheld): duplicate key value violates unique constraint "contacts_email" [23505]');
    expect(String(failed)).toContain("jane@example.com");
  });

  it("looks one level into a wrapping error, and leaves other errors as name: message", () => {
    expect(describeError(new Error("could not store", { cause: failed }))).toMatch(/^Error: Failed query: insert into contacts .*withheld/);
    expect(describeError(new TypeError("x is not a function"))).toBe("TypeError: x is not a function");
    expect(describeError("plain")).toBe("plain");
  });

  it("gives the stack with the same first line", () => {
    const stack = describeStack(failed)!;
    expect(stack.split("\n")[0]).toBe(describeError(failed));
    expect(stack).toMatch(/\n {4}at /);
    expect(stack).not.toContain("jane@example.com");
  });
});
