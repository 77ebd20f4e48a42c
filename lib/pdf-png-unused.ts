// Stands in, in the Worker bundles only (wrangler alias, scripts/wrangler-toml.ts), for pdf-lib's
// PNG decoder: the PDF export draws text, never images, so embedding a PNG fails there.
const unavailable = () => {
  throw new Error("PNG embedding is not bundled into this Worker (scripts/wrangler-toml.ts)");
};
export default { decode: unavailable, toRGBA8: unavailable };
