// Who a credential is, remembered for a few seconds in this isolate (Worker instance or
// Node process), so a request does not pay a database read to authenticate: on the chat's
// hot path that read was about a third of what Parley added to the first token.
//
// The price is a bounded lag. A key revoked, an agent removed or demoted, a session ended
// takes effect at once in the instance that made the change (the identity services call
// `forget…` after their transaction commits) and within CREDENTIAL_CACHE_MS everywhere else.
// An entry never outlives its credential's own expiry (a JWT's `exp`, a key's `expires_at`),
// and failed lookups are never cached, so a new key works at once.
import type { Principal } from "./auth";

export const CREDENTIAL_CACHE_MS = 5_000;
const MAX_ENTRIES = 5_000;

interface Entry {
  principal: Principal;
  until: number;
}

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly ttlMs = CREDENTIAL_CACHE_MS,
    private readonly max = MAX_ENTRIES,
  ) {}

  /** The principal for `credential`, if it was resolved less than ttlMs ago and has not expired. */
  get(credential: string, now = Date.now()): Principal | undefined {
    const e = this.entries.get(credential);
    if (!e) return undefined;
    if (e.until <= now) {
      this.entries.delete(credential);
      return undefined;
    }
    return e.principal;
  }

  /** Remembers a resolved principal until ttlMs from now, or `expiresAt` (ms) if sooner. */
  set(credential: string, principal: Principal, expiresAt = Number.POSITIVE_INFINITY, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    const until = Math.min(now + this.ttlMs, expiresAt);
    if (until <= now) return;
    // Oldest first out: a Map iterates in insertion order.
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    // Shared by every request that presents the credential: frozen, so none can change it for the others.
    this.entries.set(credential, { principal: Object.freeze({ ...principal, scopes: Object.freeze([...principal.scopes]) }), until });
  }

  /** Drops the entries of one credential string (a logged-out cookie). */
  forgetCredential(credential: string): void {
    this.entries.delete(credential);
  }

  /** Drops every entry of an API key. */
  forgetApiKey(apiKeyId: string): void {
    this.forgetWhere((p) => p.apiKeyId === apiKeyId);
  }

  /** Drops every entry of an agent (their JWTs and cookie sessions). */
  forgetAgent(agentId: string): void {
    this.forgetWhere((p) => p.agentId === agentId);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private forgetWhere(match: (p: Principal) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.principal)) this.entries.delete(k);
  }
}

/** The one cache of this isolate. */
export const credentialCache = new CredentialCache();
