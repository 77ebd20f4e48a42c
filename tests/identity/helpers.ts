// Shared helpers of the identity tests: extra agents with a role, API keys, cookie sign-in.
import { BASE, type Harness, type Tenant, unique } from "../support/harness";

export interface Member {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

/** Adds an agent with `role` to the tenant's workspace (as its owner) and signs them in. */
export async function addMember(h: Harness, owner: Tenant, role: "owner" | "admin" | "agent" = "agent"): Promise<Member> {
  const email = `${unique(role)}@example.com`;
  const password = "member-password";
  const r = await h.call("POST", "/v1/agents", { token: owner.token, body: { name: `A ${role}`, email, password, role } });
  if (r.status !== 201) throw new Error(`add agent failed: ${r.status} ${r.text}`);
  const t = await h.call("POST", "/v1/auth/token", { body: { email, password } });
  if (t.status !== 200) throw new Error(`token failed: ${t.status} ${t.text}`);
  return { id: r.body.id, email, password, token: t.body.access_token, refreshToken: t.body.refresh_token };
}

/** Creates an API key (as the owner unless `as` is given) and returns its id and secret. */
export async function createKey(h: Harness, as: string, scopes?: string[], name = "test key"): Promise<{ id: string; key: string }> {
  const r = await h.call("POST", "/v1/api-keys", { token: as, body: { name, ...(scopes ? { scopes } : {}) } });
  if (r.status !== 201) throw new Error(`create key failed: ${r.status} ${r.text}`);
  return { id: r.body.id, key: r.body.key };
}

/** Signs in with a cookie; returns the `name=value` pair to send back in `Cookie`. */
export async function cookieLogin(h: Harness, email: string, password: string): Promise<{ cookie: string; setCookie: string }> {
  const r = await h.call("POST", "/v1/auth/login", { body: { email, password } });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  const setCookie = r.headers.get("set-cookie") ?? "";
  return { cookie: setCookie.split(";")[0]!, setCookie };
}

export const SAME_ORIGIN = { origin: BASE };
