// What a Mailgun route's forward() posts for one received email, built locally (npm run simulate,
// the inbound bench): the fully parsed fields Mailgun documents, `message-headers` as a JSON list of
// [name, value] pairs, attachments as attachment-1…N file parts, signed like Mailgun signs them.
import { mailgunSignature } from "../mailgun-signature";

export interface InboundEmailSpec {
  to: string;
  from: string;
  fromName?: string;
  subject: string;
  text: string;
  /** With angle brackets, as mailers write it; generated when absent. */
  messageId?: string;
  inReplyTo?: string;
  references?: string;
  /** Text of an earlier message quoted below the reply (in body-plain, not in stripped-text). */
  quoted?: string;
}

export function newMessageId(host = "mail.customer.example"): string {
  const rnd = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `<${Date.now().toString(36)}.${rnd}@${host}>`;
}

/** The form fields (without signature) Mailgun posts for `spec`. */
export function forwardFields(spec: InboundEmailSpec): Record<string, string> {
  const messageId = spec.messageId ?? newMessageId();
  const from = spec.fromName ? `"${spec.fromName.replace(/"/g, "")}" <${spec.from}>` : spec.from;
  const date = new Date().toUTCString().replace("GMT", "+0000");
  const headers: Array<[string, string]> = [
    ["X-Mailgun-Incoming", "Yes"],
    ["X-Envelope-From", `<${spec.from}>`],
    ["Mime-Version", "1.0"],
    ["From", from],
    ["Date", date],
    ["Message-Id", messageId],
    ["Subject", spec.subject],
    ["To", spec.to],
    ["Content-Type", "text/plain; charset=UTF-8"],
  ];
  if (spec.inReplyTo) headers.push(["In-Reply-To", spec.inReplyTo]);
  if (spec.references ?? spec.inReplyTo) headers.push(["References", (spec.references ?? spec.inReplyTo)!]);
  const quoted = spec.quoted
    ? `\n\nOn ${date}, ${spec.to} wrote:\n${spec.quoted
        .split("\n")
        .map((l) => `> ${l}`)
        .join("\n")}\n`
    : "";
  const fields: Record<string, string> = {
    recipient: spec.to,
    sender: spec.from,
    from,
    subject: spec.subject,
    "body-plain": `${spec.text}${quoted}`,
    "stripped-text": spec.text,
    "message-headers": JSON.stringify(headers),
    "Message-Id": messageId,
    Date: date,
    To: spec.to,
  };
  if (spec.inReplyTo) fields["In-Reply-To"] = spec.inReplyTo;
  if (spec.references ?? spec.inReplyTo) fields.References = (spec.references ?? spec.inReplyTo)!;
  return fields;
}

/** A signed POST of `fields` (urlencoded, or multipart with attachment-1…N when there are files). */
export async function signedForwardRequest(url: string, fields: Record<string, string>, signingKey: string, files: File[] = []): Promise<Request> {
  const sig = await mailgunSignature(signingKey);
  const all = { ...fields, timestamp: sig.timestamp, token: sig.token, signature: sig.signature };
  if (!files.length) {
    return new Request(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(all).toString() });
  }
  const form = new FormData();
  for (const [k, v] of Object.entries(all)) form.append(k, v);
  form.append("attachment-count", String(files.length));
  for (const [i, f] of files.entries()) form.append(`attachment-${i + 1}`, f, f.name);
  return new Request(url, { method: "POST", body: form });
}
