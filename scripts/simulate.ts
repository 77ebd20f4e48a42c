// `npm run simulate -- <provider> …`: sends a running Parley (npm start) what a provider would,
// signed as the provider signs it, to try inbound channels without an account.
//   npm run simulate -- whatsapp --phone-number-id 106540352242922 --from 16505551234 --name "Sheena Nelson" --text "Hi!"
//   npm run simulate -- email --to support@mg.acme.example --from alice@customer.example --subject "Order 1042" --text "Hi!"
// Options are listed by `npm run simulate -- <provider> --help`.
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { forwardFields, signedForwardRequest } from "../lib/local/mailgun-inbound";
import { inboundPayload, signedWebhookRequest } from "../lib/local/whatsapp-graph";

const env = process.env as Record<string, string | undefined>;
const dataDir = resolve(env.DATA_DIR ?? ".data");
const defaultUrl = env.PUBLIC_BASE_URL ?? `http://${env.HOST ?? "127.0.0.1"}:${env.PORT ?? 8787}`;

/** A secret from the environment, else the one the local server generated into DATA_DIR. */
function localSecret(given: string | undefined, file: string, name: string): string {
  if (given) return given;
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  throw new Error(`${name} is not set and ${path} does not exist: start the server once (npm start) or set ${name}.`);
}

const WHATSAPP_HELP = `npm run simulate -- whatsapp --phone-number-id <id> [options]
Posts a signed WhatsApp Cloud API webhook (one customer message) to <url>/inbound/whatsapp.
  --phone-number-id <id>   the WhatsApp channel's phone_number_id (required)
  --from <wa_id>           the customer's number, digits only (default 16505551234)
  --name <name>            the customer's WhatsApp profile name (default "WhatsApp Customer")
  --text <text>            a text message (the default kind; default "Hello from WhatsApp")
  --image <media id>       an image (with --caption)
  --location <lat,lng>     a location (with --place "Name, address")
  --button <title>         an interactive button reply
  --reaction <emoji>       a reaction, to --to-message <wamid>
  --hours-ago <n>          sent n hours ago (to try the 24-hour window)
  --secret <app secret>    default: WHATSAPP_APP_SECRET, else DATA_DIR/whatsapp-app-secret
  --url <base url>         default: ${defaultUrl}`;

async function whatsapp(args: string[]) {
  const { values: o } = parseArgs({
    args,
    options: {
      "phone-number-id": { type: "string" },
      from: { type: "string", default: "16505551234" },
      name: { type: "string", default: "WhatsApp Customer" },
      text: { type: "string" },
      image: { type: "string" },
      caption: { type: "string" },
      location: { type: "string" },
      place: { type: "string" },
      button: { type: "string" },
      reaction: { type: "string" },
      "to-message": { type: "string" },
      "hours-ago": { type: "string" },
      secret: { type: "string" },
      url: { type: "string", default: defaultUrl },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help || !o["phone-number-id"]) {
    console.log(WHATSAPP_HELP);
    process.exit(o.help ? 0 : 2);
  }
  let message: Record<string, unknown> & { type: string };
  if (o.image) message = { type: "image", image: { id: o.image, mime_type: "image/jpeg", sha256: "", ...(o.caption ? { caption: o.caption } : {}) } };
  else if (o.location) {
    const [lat, lng] = o.location.split(",").map(Number);
    const [name, ...address] = (o.place ?? "").split(",");
    message = { type: "location", location: { latitude: lat, longitude: lng, ...(name ? { name: name.trim() } : {}), ...(address.length ? { address: address.join(",").trim() } : {}) } };
  } else if (o.button) message = { type: "interactive", interactive: { type: "button_reply", button_reply: { id: o.button.toLowerCase().replace(/\W+/g, "-"), title: o.button } } };
  else if (o.reaction) message = { type: "reaction", reaction: { message_id: o["to-message"] ?? "wamid.unknown", emoji: o.reaction } };
  else message = { type: "text", text: { body: o.text ?? "Hello from WhatsApp" } };

  const hoursAgo = Number(o["hours-ago"] ?? 0);
  const payload = inboundPayload(
    { phoneNumberId: o["phone-number-id"] },
    { waId: o.from.replace(/[^0-9]/g, ""), name: o.name },
    message,
    { timestamp: new Date(Date.now() - hoursAgo * 3600_000) },
  );
  const secret = localSecret(o.secret ?? env.WHATSAPP_APP_SECRET, "whatsapp-app-secret", "WHATSAPP_APP_SECRET");
  const req = await signedWebhookRequest(`${o.url.replace(/\/+$/, "")}/inbound/whatsapp`, payload, secret);
  const res = await fetch(req);
  const wamid = (payload.entry[0]!.changes[0]!.value as unknown as { messages: Array<{ id: string }> }).messages[0]!.id;
  console.log(`POST ${req.url} → ${res.status} ${await res.text()}\nwamid: ${wamid}`);
  if (!res.ok) process.exit(1);
}

const EMAIL_HELP = `npm run simulate -- email --to <channel address> [options]
Posts a signed Mailgun route forward (one inbound email) to <url>/inbound/mailgun/messages, as a
Mailgun route with forward("https://<host>/inbound/mailgun/messages") would.
  --to <address>           the email channel's address (required)
  --from <address>         the customer (default alice@customer.example)
  --name <name>            the customer's display name (default "Alice Customer")
  --subject <subject>      default "Hello from email"
  --text <text>            the new text (default "Hello, I have a question about my order.")
  --quote <text>           earlier text quoted below the reply in body-plain ("On … wrote:" and "> " lines)
  --in-reply-to <id>       thread into the conversation of the message with this Message-Id
  --references <ids>       References header (default: the --in-reply-to id)
  --message-id <id>        the email's Message-Id (default: a new one; the same id again is a duplicate)
  --attach <path>          attach a file (repeatable)
  --key <signing key>      default: MAILGUN_WEBHOOK_SIGNING_KEY, else DATA_DIR/mailgun-webhook-signing-key
                           (a channel with its own webhook_signing_key needs that key here)
  --url <base url>         default: ${defaultUrl}`;

const angle = (id: string) => (id.startsWith("<") ? id : `<${id}>`);

async function email(args: string[]) {
  const { values: o } = parseArgs({
    args,
    options: {
      to: { type: "string" },
      from: { type: "string", default: "alice@customer.example" },
      name: { type: "string", default: "Alice Customer" },
      subject: { type: "string", default: "Hello from email" },
      text: { type: "string", default: "Hello, I have a question about my order." },
      quote: { type: "string" },
      "in-reply-to": { type: "string" },
      references: { type: "string" },
      "message-id": { type: "string" },
      attach: { type: "string", multiple: true },
      key: { type: "string" },
      url: { type: "string", default: defaultUrl },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help || !o.to) {
    console.log(EMAIL_HELP);
    process.exit(o.help ? 0 : 2);
  }
  const fields = forwardFields({
    to: o.to,
    from: o.from,
    fromName: o.name,
    subject: o.subject,
    text: o.text,
    quoted: o.quote,
    messageId: o["message-id"] ? angle(o["message-id"]) : undefined,
    inReplyTo: o["in-reply-to"] ? angle(o["in-reply-to"]) : undefined,
    references: o.references,
  });
  const files = (o.attach ?? []).map((path) => new File([readFileSync(path)], basename(path)));
  const key = localSecret(o.key ?? env.MAILGUN_WEBHOOK_SIGNING_KEY, "mailgun-webhook-signing-key", "MAILGUN_WEBHOOK_SIGNING_KEY");
  const req = await signedForwardRequest(`${o.url.replace(/\/+$/, "")}/inbound/mailgun/messages`, fields, key, files);
  const res = await fetch(req);
  console.log(`POST ${req.url} → ${res.status} ${await res.text()}\nMessage-Id: ${fields["Message-Id"]}  (reply to it with --in-reply-to '${fields["Message-Id"]}')`);
  if (!res.ok) process.exit(1);
}

const PROVIDERS: Record<string, (args: string[]) => Promise<void>> = { whatsapp, email };

const [provider, ...rest] = process.argv.slice(2);
const run = provider ? PROVIDERS[provider] : undefined;
if (!run) {
  console.log(`Usage: npm run simulate -- <${Object.keys(PROVIDERS).join("|")}> [options]   (--help for a provider's options)`);
  process.exit(provider ? 2 : 0);
}
await run(rest);
