// `npm run bench [-- <name>…]`: runs every bench/*.bench.ts section in order (or the named
// ones). A section exports `name`, `description`, optional `order`, and `run(ctx)` that prints
// its own table; add one by adding a file (see foundation.bench.ts and support.ts).
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchContext, BenchModule } from "./support";

const dir = fileURLToPath(new URL(".", import.meta.url));
const modules: BenchModule[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".bench.ts"))) {
  const m = (await import(pathToFileURL(`${dir}${file}`).href)) as BenchModule;
  modules.push(m);
}
modules.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !modules.some((m) => m.name === w));
if (unknown.length) {
  console.error(`no bench section ${unknown.join(", ")}; have:\n${modules.map((m) => `  ${m.name.padEnd(14)} ${m.description}`).join("\n")}`);
  process.exit(1);
}
const selected = wanted.length ? modules.filter((m) => wanted.includes(m.name)) : modules;
const ctx: BenchContext = {
  duration: Number(process.env.BENCH_DURATION) > 0 ? Number(process.env.BENCH_DURATION) : 10,
  connections: Number(process.env.BENCH_CONNECTIONS) > 0 ? Number(process.env.BENCH_CONNECTIONS) : 10,
};
console.log(`node ${process.version}; sections: ${selected.map((m) => m.name).join(", ")}`);
for (const m of selected) {
  const started = Date.now();
  await m.run(ctx);
  console.log(`(${m.name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
