// Fixtures for the conversations tests: contacts and sessions are written straight into the
// database (their routes belong to the contacts area), everything else goes through the API.
import { eq } from "drizzle-orm";
import { newId } from "../../lib/ids";
import { assistants, channels, contacts, events, sessions } from "../../schema";
import type { Harness, Tenant } from "../support/harness";
import { unique } from "../support/harness";

export async function seedContact(h: Harness, t: Tenant, o: { name?: string; email?: string } = {}) {
  const id = newId("ct");
  await h.services.db.insert(contacts).values({ id, workspaceId: t.workspaceId, name: o.name ?? "Ada", email: o.email ?? `${unique("c")}@example.com` });
  return id;
}

export async function seedSession(h: Harness, t: Tenant, contactId: string | null = null) {
  const id = newId("ses");
  await h.services.db.insert(sessions).values({ id, workspaceId: t.workspaceId, contactId });
  return id;
}

/** A channel of the workspace (email and WhatsApp ones with a unique address / phone number id). */
export async function seedChannel(h: Harness, t: Tenant, type: "web" | "api" | "email" | "whatsapp" = "email") {
  const id = newId("ch");
  const key = type === "email" ? `${unique("support")}@mg.example.com`.toLowerCase() : type === "whatsapp" ? String(Date.now() * 1000 + Math.floor(Math.random() * 1000)) : null;
  const config = type === "email" ? { address: key } : type === "whatsapp" ? { phone_number_id: key } : {};
  const secrets: Record<string, string> = type === "whatsapp" ? { access_token: "EAAG-test" } : {};
  await h.services.db.insert(channels).values({ id, workspaceId: t.workspaceId, type, name: `${type} channel`, config, secrets, inboundKey: key });
  return id;
}

export async function seedAssistant(h: Harness, t: Tenant) {
  const id = newId("ast");
  await h.services.db.insert(assistants).values({ id, workspaceId: t.workspaceId, name: "Bot", instructions: "Be brief." });
  return id;
}

export async function createConversation(h: Harness, t: Tenant, body: Record<string, unknown> = {}) {
  const r = await h.call("POST", "/v1/conversations", { token: t.token, body: { title: unique("conv"), ...body } });
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
  return r.body as { id: string; [k: string]: any };
}

export async function apiKey(h: Harness, t: Tenant, scopes = ["read", "write"]) {
  const r = await h.call("POST", "/v1/api-keys", { token: t.token, body: { name: "test", scopes } });
  if (r.status !== 201) throw new Error(`api key failed: ${r.status} ${r.text}`);
  return r.body.key as string;
}

export async function addAgent(h: Harness, t: Tenant) {
  const r = await h.call("POST", "/v1/agents", { token: t.token, body: { name: "Grace", email: `${unique("agent")}@example.com`, password: "s3cret-password" } });
  if (r.status !== 201) throw new Error(`agent failed: ${r.status} ${r.text}`);
  return r.body.id as string;
}

/** Event types written for an entity, oldest first. */
export async function eventsOf(h: Harness, entityId: string) {
  const rows = await h.services.db.select().from(events).where(eq(events.entityId, entityId)).orderBy(events.createdAt, events.id);
  return rows;
}
