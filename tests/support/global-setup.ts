// Runs once before the suite. On real PostgreSQL it applies the migrations once (test files
// starting in parallel would otherwise race to create the same objects). On the embedded
// default it writes a migrated PGlite template that every test file starts from, which skips
// PGlite's initdb (about two seconds a file).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { createLocalServices, MIGRATIONS_DIR, writePgliteTemplate } from "../../lib/local/services";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

function migrationsHash(): string {
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else h.update(name.name).update(readFileSync(p));
    }
  };
  walk(MIGRATIONS_DIR);
  return h.digest("hex").slice(0, 16);
}

export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    const services = await createLocalServices({ dataDir: null, env: { DATABASE_URL: process.env.DATABASE_URL }, environment: "test" });
    await services.close();
    project.provide("pgliteTemplate", "");
    return;
  }
  const file = join(tmpdir(), `parley-pglite-${migrationsHash()}.tar.gz`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.tmp`;
    await writePgliteTemplate(partial);
    renameSync(partial, file);
  }
  project.provide("pgliteTemplate", file);
}
