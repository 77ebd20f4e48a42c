// Stands in, in the jobs-exports Worker only (wrangler alias, scripts/wrangler-toml.ts), for the
// metrics of every standard PDF font the exports do not use: embedding one fails there.
export default "";
