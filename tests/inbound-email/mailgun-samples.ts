// Route forwards and event webhooks shaped as Mailgun documents them ("Receiving messages via HTTP
// through a forward() action": the fully parsed fields, `message-headers` as a JSON list of
// [name, value] pairs in order, attachment-1…N as file parts; "Webhook payloads": `{signature,
// "event-data"}` with the event's id, timestamp, recipient, message headers, user-variables and
// delivery-status). Values are sanitized samples; tests fill in addresses and ids.

export interface ForwardSample {
  recipient: string;
  from: string;
  messageId: string;
  subject?: string;
  inReplyTo?: string;
  references?: string;
}

/** A reply as Mailgun forwards it: body-plain with the quoted history, stripped-text without. */
export function replyForward(s: ForwardSample): Record<string, string> {
  const subject = s.subject ?? "Re: Sample POST request";
  const headers: Array<[string, string]> = [
    ["X-Mailgun-Spam-Rules", "DKIM_SIGNED, DKIM_VALID, DKIM_VALID_AU, HTML_MESSAGE"],
    ["X-Mailgun-Dkim-Check-Result", "Pass"],
    ["X-Mailgun-Spf", "Pass"],
    ["X-Mailgun-Sscore", "-0.1"],
    ["X-Mailgun-Sflag", "No"],
    ["X-Mailgun-Incoming", "Yes"],
    ["X-Envelope-From", `<${s.from}>`],
    ["Received", "from mail.customer.example by mxa.mailgun.org with ESMTP"],
    ["Mime-Version", "1.0"],
    ["From", `"Alice Customer" <${s.from}>`],
    ["Date", "Fri, 26 Apr 2013 11:50:29 -0700"],
    ["Message-Id", s.messageId],
    ["Subject", subject],
    ["To", `Acme Support <${s.recipient}>`],
    ["Content-Type", 'multipart/alternative; boundary="089e0825ccf874a0bb055b4f7e23"'],
  ];
  if (s.inReplyTo) headers.push(["In-Reply-To", s.inReplyTo]);
  if (s.references) headers.push(["References", s.references]);
  const form: Record<string, string> = {
    recipient: s.recipient,
    sender: s.from,
    from: `"Alice Customer" <${s.from}>`,
    subject,
    "body-plain":
      "Hi Bob,\n\nThis is a reply to your message: the parcel still has not arrived.\n\nThanks,\nAlice\n\nOn Fri, Apr 26, 2013 at 11:41 AM, Bob <bob@mg.acme.example> wrote:\n\n> Hi Alice,\n>\n> This is Bob.\n>\n> Your order has shipped.\n",
    "stripped-text": "Hi Bob,\n\nThis is a reply to your message: the parcel still has not arrived.",
    "stripped-signature": "Thanks,\nAlice",
    "body-html":
      '<html><body><div>Hi Bob,</div><div>This is a reply to your message: the parcel still has not arrived.</div><div class="gmail_quote">On Fri, Apr 26, 2013 at 11:41 AM, Bob wrote:<blockquote>Hi Alice,</blockquote></div></body></html>',
    "stripped-html": "<html><body><div>Hi Bob,</div><div>This is a reply to your message: the parcel still has not arrived.</div></body></html>",
    "Message-Id": s.messageId,
    "message-headers": JSON.stringify(headers),
    Date: "Fri, 26 Apr 2013 11:50:29 -0700",
    To: `Acme Support <${s.recipient}>`,
    "X-Mailgun-Incoming": "Yes",
  };
  if (s.inReplyTo) form["In-Reply-To"] = s.inReplyTo;
  if (s.references) form.References = s.references;
  return form;
}

/** Mailgun's "delivered" event webhook body (sanitized sample), before signing. */
export function deliveredEvent(o: { id: string; messageId: string; recipient: string; userVariables?: Record<string, string>; timestamp?: number }) {
  return {
    "event-data": {
      tags: [],
      timestamp: o.timestamp ?? Date.now() / 1000,
      storage: { url: "https://sw.api.mailgun.net/v3/domains/mg.acme.example/messages/eyJwI", key: "eyJwI" },
      "recipient-domain": o.recipient.split("@")[1],
      id: o.id,
      campaigns: [],
      "user-variables": o.userVariables ?? {},
      flags: { "is-routed": false, "is-authenticated": true, "is-system-test": false, "is-test-mode": false },
      "log-level": "info",
      envelope: { "sending-ip": "198.51.100.200", sender: "support@mg.acme.example", transport: "smtp", targets: o.recipient },
      message: { headers: { to: o.recipient, "message-id": o.messageId, from: "support@mg.acme.example", subject: "Re: Order 1042" }, attachments: [], size: 809 },
      recipient: o.recipient,
      event: "delivered",
      "delivery-status": {
        tls: true,
        "mx-host": "smtp-in.customer.example",
        "attempt-no": 1,
        description: "",
        "session-seconds": 3.57,
        utf8: true,
        code: 250,
        message: "OK",
        "certificate-verified": true,
      },
    },
  };
}

/** Mailgun's "failed" event (permanent: a bounce; temporary: will be retried by Mailgun). */
export function failedEvent(o: { id: string; messageId: string; recipient: string; severity: "permanent" | "temporary"; userVariables?: Record<string, string> }) {
  const permanent = o.severity === "permanent";
  return {
    "event-data": {
      id: o.id,
      event: "failed",
      severity: o.severity,
      reason: permanent ? "bounce" : "generic",
      recipient: o.recipient,
      timestamp: Date.now() / 1000,
      "log-level": permanent ? "error" : "warn",
      "user-variables": o.userVariables ?? {},
      message: { headers: { to: o.recipient, "message-id": o.messageId, from: "Acme Support <support@mg.acme.example>", subject: "Re: Order 1042" } },
      "delivery-status": permanent
        ? {
            tls: true,
            "mx-host": "aspmx.l.customer.example",
            "attempt-no": 1,
            description: "",
            "session-seconds": 2.95,
            utf8: true,
            code: 550,
            message: "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking the recipient's email address for typos",
            "certificate-verified": true,
          }
        : { "attempt-no": 3, description: "No MX for nomx.customer.example", "session-seconds": 0.0, "retry-seconds": 1800, code: 498, message: "No MX for nomx.customer.example" },
    },
  };
}

/** An engagement or list event (opened, clicked, complained, unsubscribed, accepted) in Mailgun's shape. */
export function simpleEvent(event: "accepted" | "opened" | "clicked" | "complained" | "unsubscribed", o: { id: string; messageId: string; recipient: string; userVariables?: Record<string, string> }) {
  return {
    "event-data": {
      id: o.id,
      event,
      timestamp: Date.now() / 1000,
      "log-level": event === "complained" ? "warn" : "info",
      recipient: o.recipient,
      "user-variables": o.userVariables ?? {},
      message: { headers: { "message-id": o.messageId } },
      ...(event === "clicked" ? { url: "https://acme.example/track/1042", ip: "203.0.113.9", "client-info": { "client-type": "browser" } } : {}),
      ...(event === "opened" ? { ip: "203.0.113.9", geolocation: { country: "US", region: "CA", city: "San Francisco" } } : {}),
    },
  };
}
