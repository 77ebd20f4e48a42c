// The /docs page: Scalar's API reference, loaded from our own origin (/docs/scalar.js, never
// a CDN) and configured to fetch nothing from the internet (no web fonts, no telemetry, no
// hosted proxy, no AI agent), so it renders on a machine without network access.
import { API_VERSION } from "./version";

export const SCALAR_SCRIPT_PATH = "/docs/scalar.js";

const SCALAR_CONFIG = {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: "never",
  hideClientButton: false,
  documentDownloadType: "json",
  defaultOpenFirstTag: true,
  theme: "default",
  metaData: { title: "Parley API reference" },
};

/** `nonce` allows the one inline script (and Scalar's injected styles) under our CSP. */
export function docsPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="description" content="Reference of the Parley API ${API_VERSION}: every endpoint, its parameters, bodies, responses and errors." />
    <meta property="csp-nonce" content="${nonce}" />
    <title>Parley API reference</title>
    <link rel="icon" href="data:," />
    <link rel="alternate" type="application/json" href="/openapi.json" title="OpenAPI 3.1 document" />
    <link rel="alternate" type="text/plain" href="/llms.txt" title="llms.txt digest" />
  </head>
  <body>
    <noscript>This reference needs JavaScript. The raw document is at <a href="/openapi.json">/openapi.json</a> and a plain-text digest at <a href="/llms.txt">/llms.txt</a>.</noscript>
    <div id="app"></div>
    <script src="${SCALAR_SCRIPT_PATH}?v=${encodeURIComponent(API_VERSION)}"></script>
    <script nonce="${nonce}">
      Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIG)});
    </script>
  </body>
</html>
`;
}

/** Our page loads only from our own origin; `connect-src` also allows the public base URL for "Try it". */
export function docsCsp(nonce: string, extraOrigins: string[] = []): string {
  const connect = ["'self'", ...extraOrigins].join(" ");
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${connect}`,
    "worker-src 'self' blob:",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}
