// Webhook payloads as Meta documents them (WhatsApp Cloud API, "messages webhook reference":
// developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages),
// with Meta's own sample values: WABA 102290129340398, business phone 15550783881 /
// phone_number_id 106540352242922, customer Sheena Nelson, wa_id 16505551234. Tests swap the
// phone_number_id (and sender) for their own channel's with retarget().

const META = { display_phone_number: "15550783881", phone_number_id: "106540352242922" };
const CONTACT = { profile: { name: "Sheena Nelson" }, wa_id: "16505551234" };

function wrap(value: Record<string, unknown>) {
  return {
    object: "whatsapp_business_account",
    entry: [{ id: "102290129340398", changes: [{ value: { messaging_product: "whatsapp", metadata: META, ...value }, field: "messages" }] }],
  };
}

const msg = (id: string, timestamp: string, rest: Record<string, unknown>) => wrap({ contacts: [CONTACT], messages: [{ from: "16505551234", id, timestamp, ...rest }] });

export const textMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", ts, { type: "text", text: { body: "Does it come in another color?" } });

export const imageMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUI0QzJFNTI5RTYzODEwMDFGQQA=", ts, {
    type: "image",
    image: {
      caption: "Is this the blue one?",
      mime_type: "image/jpeg",
      sha256: "nZ8QTdWfv1kYkuBi0WMUJ2y3r8fAbN6HJjpmUudhy7o=",
      id: "1003383421387256",
    },
  });

export const documentMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQkRDMjM5NjYzQ0YzODEwMjg4RAA=", ts, {
    type: "document",
    document: {
      caption: "Invoice for order 1234",
      filename: "invoice-1234.pdf",
      mime_type: "application/pdf",
      sha256: "GXnYm8tpALn1vL8Bp9fqgQTN/xWqVBOhmXnb+Qw3c8A=",
      id: "1252395586123456",
    },
  });

export const audioMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTgzQjMwODk5QkQzODEwNEY2RgA=", ts, {
    type: "audio",
    audio: { mime_type: "audio/ogg; codecs=opus", sha256: "kUcDMg/ZGYSJqLtC9Qf5Eup62KCpQ/EfUkfBvCbh8lY=", id: "2041329259633112", voice: true },
  });

export const stickerMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQjFCMjQ2QTFGRUQzODEwNTVFNQA=", ts, {
    type: "sticker",
    sticker: { mime_type: "image/webp", sha256: "IXnGEKCHkyOIn0bX/LUvX3nPHCQN3sF0PnfdvI6zRJs=", id: "1233817278142853", animated: false },
  });

export const locationMessage = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTk4NjJCQzk1RjQzODEwNkY4QQA=", ts, {
    type: "location",
    location: { address: "1 Hacker Way, Menlo Park, CA 94025", latitude: 37.483872222222, longitude: -122.14870833333, name: "Philz Coffee", url: "https://philzcoffee.com" },
  });

export const buttonReply = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQjU1RkE2OTk3QkUzODEwODdGRQA=", ts, {
    context: { from: "15550783881", id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBIyRUQ5QzEzQjk4QjEzNzBCQjEA" },
    type: "interactive",
    interactive: { type: "button_reply", button_reply: { id: "cancel-button", title: "Cancel" } },
  });

export const listReply = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzRTRCNjAzOTlCQzIzODEwOTBDRAA=", ts, {
    context: { from: "15550783881", id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFMDc1QjY5NjEwMjkzQjg1MjQA" },
    type: "interactive",
    interactive: { type: "list_reply", list_reply: { id: "priority_express", title: "Express Shipping", description: "Next Day to 2 Days" } },
  });

export const templateButton = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzNTcyNEU3NTA0QjgzODExMDA2OQA=", ts, {
    context: { from: "15550783881", id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI1RjQ0QUYwNjg0MTNERjc1RUQA" },
    type: "button",
    button: { payload: "Unsubscribe from Promos", text: "Unsubscribe from Promos" },
  });

export const reaction = (ts = "1749416383") =>
  msg("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTdBMzJENjI0MTczODExNDBCQQA=", ts, {
    type: "reaction",
    reaction: { message_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", emoji: "\uD83D\uDE00" },
  });

/** Meta's status webhook for an outbound message: sent (with conversation and pricing). */
export const statusSent = (wamid: string, ts = "1750263773") =>
  wrap({
    statuses: [
      {
        id: wamid,
        status: "sent",
        timestamp: ts,
        recipient_id: "16505551234",
        conversation: { id: "6ceb9d929c1eff5d8f4ca5e3e8f8a5a3", expiration_timestamp: "1750350180", origin: { type: "service" } },
        pricing: { billable: false, pricing_model: "PMP", category: "service", type: "free_customer_service" },
      },
    ],
  });

export const statusDelivered = (wamid: string, ts = "1750263775") =>
  wrap({
    statuses: [
      {
        id: wamid,
        status: "delivered",
        timestamp: ts,
        recipient_id: "16505551234",
        conversation: { id: "6ceb9d929c1eff5d8f4ca5e3e8f8a5a3", origin: { type: "service" } },
        pricing: { billable: false, pricing_model: "PMP", category: "service", type: "free_customer_service" },
      },
    ],
  });

export const statusRead = (wamid: string, ts = "1750263781") => wrap({ statuses: [{ id: wamid, status: "read", timestamp: ts, recipient_id: "16505551234" }] });

export const statusFailed = (wamid: string, code = 131026, title = "Message undeliverable", ts = "1750263779") =>
  wrap({
    statuses: [
      {
        id: wamid,
        status: "failed",
        timestamp: ts,
        recipient_id: "16505551234",
        errors: [
          {
            code,
            title,
            message: title,
            error_data: { details: "Message Undeliverable." },
            href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
          },
        ],
      },
    ],
  });

/** What the Meta app dashboard's "Test" button sends: a phone_number_id no channel has. */
export const dashboardTest = () => ({
  field: "messages",
  value: {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "16505551111", phone_number_id: "123456123" },
    contacts: [{ profile: { name: "test user name" }, wa_id: "16315551181" }],
    messages: [{ from: "16315551181", id: "ABGGFlA5Fpa", timestamp: "1504902988", type: "text", text: { body: "this is a text message" } }],
  },
});

/** The same test message in the envelope Meta wraps around every delivery. */
export const dashboardTestDelivery = () => ({ object: "whatsapp_business_account", entry: [{ id: "0", changes: [dashboardTest()] }] });
