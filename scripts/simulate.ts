// `npm run simulate -- <provider> …`: sends a running Parley (npm start) what a provider would,
// signed as the provider signs it, to try inbound channels without an account.
//   npm run simulate -- whatsapp --phone-number-id 106540352242922 --from 16505551234 --name "Sheena Nelson" --text "Hi!"
// Options are listed by `npm run simulate -- <provider> --help`.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
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

const PROVIDERS: Record<string, (args: string[]) => Promise<void>> = { whatsapp };

const [provider, ...rest] = process.argv.slice(2);
const run = provider ? PROVIDERS[provider] : undefined;
if (!run) {
  console.log(`Usage: npm run simulate -- <${Object.keys(PROVIDERS).join("|")}> [options]   (--help for a provider's options)`);
  process.exit(provider ? 2 : 0);
}
await run(rest);
