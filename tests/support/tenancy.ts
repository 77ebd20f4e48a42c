// Cross-tenant and role helpers for security tests: another workspace's ids must be 404 on
// every read, change and delete, and absent from every list and filter.
import { expect } from "vitest";
import { issueAccessToken, type Role } from "../../lib/auth";
import { newId } from "../../lib/ids";
import { agents } from "../../schema";
import { expectError, type Harness, type Tenant, unique } from "./harness";

export interface Probe {
  method: string;
  path: string;
  body?: unknown;
}

/** A list request whose `data` must not contain `id` (used with expectInvisible). */
export interface ListProbe {
  list: string;
  absent: string;
}

/**
 * Sends each probe with `viewer`'s token: plain probes must answer 404 `not_found`
 * (or 422 when the foreign id sits in the body and `bodyIdIs422` is set for it), list
 * probes must answer 200 without the id anywhere in `data`.
 */
export async function expectInvisible(h: Harness, viewer: Pick<Tenant, "token">, probes: Array<Probe | ListProbe | (Probe & { expect: 404 | 422 })>) {
  for (const probe of probes) {
    if ("list" in probe) {
      const r = await h.call("GET", probe.list, { token: viewer.token });
      expect(r.status, `GET ${probe.list} → ${r.status} ${r.text.slice(0, 300)}`).toBe(200);
      expect(JSON.stringify(r.body.data), `GET ${probe.list} shows ${probe.absent}`).not.toContain(probe.absent);
      continue;
    }
    const r = await h.call(probe.method, probe.path, { token: viewer.token, body: probe.body });
    const want = "expect" in probe ? probe.expect : 404;
    const code = want === 404 ? "not_found" : "validation_error";
    try {
      expectError(r, want, code);
    } catch (err) {
      throw new Error(`${probe.method} ${probe.path}: ${(err as Error).message}`);
    }
    expect(r.text).not.toMatch(/"(name|email|phone)":"[^"]/);
  }
}

/** Adds an agent of `role` to the tenant's workspace and returns an access token for it. */
export async function agentToken(h: Harness, tenant: Pick<Tenant, "workspaceId">, role: Role = "agent"): Promise<{ agentId: string; token: string }> {
  const id = newId("agt");
  await h.services.db.insert(agents).values({ id, workspaceId: tenant.workspaceId, name: "Test agent", email: `${unique("agent")}@example.com`, passwordHash: "x", role });
  return { agentId: id, token: await issueAccessToken({ id, workspaceId: tenant.workspaceId, role }, h.services.config.jwtSecret) };
}
