// package.json's `engines` tells the truth (issue 16 item 12): every package the lockfile
// installs accepts the oldest Node that `engines.node` admits (openai 7.x and
// @scalar/api-reference ≥ 1.47 want Node 22 while we said ≥ 20, and this host runs Node 20).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
// semver comes with npm's own tree (a dependency of several of ours); only this test uses it.
const semver = require("semver") as { minVersion(r: string): { version: string } | null; satisfies(v: string, r: string): boolean };
const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8"));

describe("engines", () => {
  it("every locked package accepts the oldest Node that package.json admits", () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const refuse: string[] = [];
    for (const [path, entry] of Object.entries<{ version?: string; engines?: { node?: string } | string[] }>(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (!path || !range) continue;
      if (!semver.satisfies(oldest, range)) refuse.push(`${path.replace(/^.*node_modules\//, "")}@${entry.version} wants node ${range}`);
    }
    expect(refuse, `package.json says node ${pkg.engines.node}`).toEqual([]);
  });

  it("the lockfile locks what package.json asks for", () => {
    const locked = lock.packages[""];
    expect(locked.dependencies).toEqual(pkg.dependencies);
    expect(locked.devDependencies).toEqual(pkg.devDependencies);
    expect(locked.engines).toEqual(pkg.engines);
  });

  it("this Node is one package.json admits", () => {
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  });
});
