// The checks both Mailgun webhooks make before anything is read from the payload, answered as the
// contract's 401 with the reason in details (never which workspace or channel exists).
import { ApiError } from "../../lib/errors";
import type { Kv } from "../../lib/kv";
import { claimToken, isFresh, type MailgunSignature, type SignatureFailure, verifyMailgunHmac } from "../../lib/mailgun-signature";
import type { ChannelRow } from "./mailgun.service";

const MESSAGES: Record<SignatureFailure, string> = {
  missing_signature: "Missing or malformed Mailgun signature: timestamp, token and signature are required.",
  stale_timestamp: "The Mailgun signature's timestamp is more than 5 minutes from now.",
  signature_mismatch: "Invalid Mailgun signature: it must be the HMAC-SHA256 of timestamp + token with the webhook signing key.",
  token_reused: "This Mailgun signature token was already used: each request is accepted once.",
};

export const signatureError = (reason: SignatureFailure) => new ApiError("unauthorized", MESSAGES[reason], { details: { reason } });

/** The key a channel's webhooks are signed with: its own `webhook_signing_key`, else the platform's. */
export function signingKeyOf(ch: Pick<ChannelRow, "secrets"> | undefined, platformKey: string | undefined): string | undefined {
  const own = ch?.secrets?.webhook_signing_key;
  return typeof own === "string" && own ? own : platformKey;
}

/**
 * Throws the contract's 401 unless `sig` is fresh, signed with one of `keys`, and its token unused
 * (then spent). Returns the index of the key that signed it.
 */
export async function requireSignature(kv: Kv, sig: MailgunSignature | null, keys: ReadonlyArray<string | undefined>): Promise<number> {
  if (!sig) throw signatureError("missing_signature");
  if (!isFresh(sig)) throw signatureError("stale_timestamp");
  let signed = -1;
  for (let i = 0; i < keys.length && signed < 0; i++) if (await verifyMailgunHmac(sig, keys[i])) signed = i;
  if (signed < 0) throw signatureError("signature_mismatch");
  if (!(await claimToken(kv, sig))) throw signatureError("token_reused");
  return signed;
}
