import { describe, expect, it } from "vitest";
import { app } from "../../functions/identity/app";

describe("identity OpenAPI document", () => {
  const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "identity", version: "1" } });
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, any>).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );

  it("documents every identity route", () => {
    expect(ops.map((o) => o.key).sort()).toEqual(
      [
        "POST /v1/workspaces",
        "POST /v1/auth/token",
        "POST /v1/auth/refresh",
        "POST /v1/auth/revoke",
        "POST /v1/auth/login",
        "POST /v1/auth/logout",
        "GET /v1/auth/me",
        "GET /v1/api-keys",
        "POST /v1/api-keys",
        "DELETE /v1/api-keys/{id}",
        "GET /v1/agents",
        "POST /v1/agents",
        "POST /v1/agents/{id}/role",
        "DELETE /v1/agents/{id}",
        "GET /v1/settings/workspace",
        "PATCH /v1/settings/workspace",
        "POST /v1/settings/workspace",
        "POST /v1/settings/password",
      ].sort(),
    );
  });

  it("gives each a summary, tags, a success response and the shared error responses", () => {
    for (const { key, op } of ops) {
      expect(op.summary, key).toBeTruthy();
      expect(op.tags?.length, key).toBeGreaterThan(0);
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => s.startsWith("2")), key).toBe(true);
      for (const s of ["400", "422", "429", "500"]) expect(statuses, key).toContain(s);
    }
  });
});
