// The introduction of the reference (Markdown, rendered at the top of /docs and in llms.txt).
export const API_DESCRIPTION = `Parley is an API for AI-assisted customer conversations: an inbox of conversations and
messages, contacts and visitor sessions, AI summaries, search, suggestions and chat, email and
WhatsApp reminders, and workspace administration.

All endpoints live under \`/v1\` and speak JSON (\`application/json; charset=utf-8\`), except
uploads (\`multipart/form-data\`) and streams (\`text/event-stream\`). Timestamps are ISO 8601 UTC
strings; ids are opaque strings with a type prefix (\`conv_…\`, \`msg_…\`, \`ct_…\`, \`ws_…\`, …).

## Authentication

Every \`/v1\` endpoint needs credentials, except sign-up and the credential exchanges, which
are marked as public below. Three kinds are accepted:

| method | how | for |
|---|---|---|
| API key | \`Authorization: Bearer pk_…\` or \`X-API-Key: pk_…\` | servers and scripts |
| JWT access token | \`Authorization: Bearer <jwt>\` from \`POST /v1/auth/token\`, valid 15 minutes | apps acting for an agent |
| Session cookie | \`parley_session\`, set by \`POST /v1/auth/login\` | the browser inbox |

Refresh tokens rotate: \`POST /v1/auth/refresh\` returns a new pair and the old refresh token
stops working; presenting a rotated token again revokes the whole sign-in. Cookie-authenticated
unsafe requests must carry a same-origin \`Origin\` header. Roles are \`owner\`, \`admin\` and
\`agent\`; API keys have the scopes \`read\`, \`write\` and \`admin\`. Every resource belongs to
one workspace: another workspace's id answers \`404\`, never \`403\`.

## Errors

Every error, from every endpoint, has one shape:

\`\`\`json
{"error": {"code": "validation_error", "message": "The request body is invalid.", "details": {"fields": {"title": ["Required"]}}, "request_id": "req_…"}}
\`\`\`

| status | code | when |
|---|---|---|
| 400 | \`bad_request\` | malformed JSON, bad query parameter, bad multipart |
| 401 | \`unauthorized\` | no or invalid credentials, expired token |
| 403 | \`forbidden\` | the role or key scope does not allow it |
| 404 | \`not_found\` | no such resource in your workspace |
| 409 | \`conflict\` | unique field taken, idempotency key reused with another body, invalid state change |
| 413 | \`payload_too_large\` | body or upload over its limit |
| 422 | \`validation_error\` | the body fails the schema; \`details.fields\` maps each field path to its messages |
| 429 | \`rate_limit_exceeded\` | see rate limits |
| 500 | \`internal_error\` | unexpected; quote the request id |
| 503 | \`service_unavailable\` | a dependency is down, or (\`details.reason: "transaction_conflict"\`, \`Retry-After: 1\`) the transaction hit a deadlock or serialization failure; nothing was written, retry |

Every response carries \`X-Request-Id\` (yours is echoed if you send one).

## Pagination and sorting

Lists take \`page\` (default 1) and \`per_page\` (default 20, at most 100) and answer
\`{"data": [...], "meta": {"page", "per_page", "total", "total_pages"}, "links": {"first", "last", "prev", "next"}}\`.
Links are absolute URLs that keep your other query parameters. \`sort\` takes a field, or
\`-field\` for descending (default \`-created_at\`).

## Idempotency

Send \`Idempotency-Key: <unique string>\` (1 to 255 characters) with any POST to make it safe to
retry: the first response is stored for 24 hours and replayed for the same key and the same
body. The same key with another body, or while the first request is still running, answers
\`409 conflict\`.

## Rate limits

Requests are counted per credential (per client address when anonymous) in one-minute
windows. Every \`/v1\` response carries \`X-RateLimit-Limit\`, \`X-RateLimit-Remaining\` and
\`X-RateLimit-Reset\` (Unix seconds); over the limit the answer is \`429 rate_limit_exceeded\`
with \`Retry-After\` in seconds.

## Asynchronous work

Summaries, exports and polling chat answer \`202\` with a resource whose \`status\` moves from
\`processing\` to \`completed\` or \`failed\`; poll it with \`GET\`.

## For machines

This document is at \`/openapi.json\` (OpenAPI 3.1) and as a plain-text digest at \`/llms.txt\`.
`;
