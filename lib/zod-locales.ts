// zod's `locales` namespace as the Workers bundle it (wrangler alias, scripts/wrangler-toml.ts):
// English only, zod's default locale. Node and the tests use zod's own module, all locales.
export { default as en } from "zod/v4/locales/en.js";
