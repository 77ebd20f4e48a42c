// The document `npm run build` writes to dist/docs-build/openapi.json (scripts/build.ts), which
// wrangler bundles into the docs Worker under this name (`[env.docs.alias]` in wrangler.toml).
declare module "parley:openapi-document" {
  const document: import("./document").OpenApiDocument;
  export default document;
}
