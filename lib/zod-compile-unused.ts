// zod's ahead-of-time compiler (`z.compile`, zod/v4/core/compile.js, 31 KiB raw) as the Workers
// bundle it (wrangler alias, scripts/wrangler-toml.ts). It generates parsers with `new Function`,
// which Workers refuse, so there it could only ever fall back to the runtime parser: this module is
// that fallback. Parley never calls it; Node and the tests use zod's own module.
export const INVALID = Symbol.for("zod.compile.invalid");

export class ZodCompileAsyncError extends Error {
  constructor(message = "z.compile does not support async refinements, transforms, or checks") {
    super(message);
    this.name = "ZodCompileAsyncError";
  }
}

export class ZodCompileUnsupportedError extends Error {
  constructor(feature: string) {
    super(`z.compile does not support ${feature}; this schema must use the runtime parser`);
    this.name = "ZodCompileUnsupportedError";
  }
}

const NOT_BUNDLED = "compiled parsers in a Worker (new Function is not allowed there)";

/** zod's own contract: a schema it cannot compile comes back unchanged, on the runtime parser. */
export function compile<T>(schema: T, options?: { strict?: boolean }): T {
  if (options?.strict) throw new ZodCompileUnsupportedError(NOT_BUNDLED);
  return schema;
}

export function withParser(): never {
  throw new ZodCompileUnsupportedError(NOT_BUNDLED);
}

export function compileFn(): never {
  throw new ZodCompileUnsupportedError(NOT_BUNDLED);
}
