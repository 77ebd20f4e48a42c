// Template rendering: values HTML-escaped in an HTML body (and only there), a text alternative,
// a one-line subject, {{event_at}} in the workspace's zone, WhatsApp parameters in order.
import { describe, expect, it } from "vitest";
import { htmlToText, parameters, parseTemplate, renderEmail } from "../../functions/email/reminder-render";

const values = {
  contact: { name: `<script>alert("x")</script> & Co`, email: "a@example.com" },
  eventAt: new Date("2026-12-05T14:00:00Z"),
  variables: { place: "Rue <b>Rivoli</b>", subject: "line\r\nBcc: evil@example.com" },
  timezone: "Europe/Paris",
};

describe("rendering", () => {
  it("escapes every value in an HTML body and keeps the template's own markup", () => {
    const out = renderEmail({ subject: "Hi {{contact.name}}", body: "<p>Hi {{contact.name}}, at {{variables.place}} on {{event_at}}</p>" }, values);
    expect(out.html).toBe("<p>Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co, at Rue &lt;b&gt;Rivoli&lt;/b&gt; on Saturday, December 5, 2026 at 3:00 PM (Europe/Paris)</p>");
    expect(out.text).toBe(`Hi <script>alert("x")</script> & Co, at Rue <b>Rivoli</b> on Saturday, December 5, 2026 at 3:00 PM (Europe/Paris)`);
    expect(out.subject).toBe(`Hi <script>alert("x")</script> & Co`);
  });

  it("a plain body is text only, values raw; a subject stays on one line", () => {
    const out = renderEmail({ subject: "Re {{variables.subject}}", body: "Hi {{contact.name}} {{contact.email}}" }, values);
    expect(out.html).toBeNull();
    expect(out.text).toBe(`Hi <script>alert("x")</script> & Co a@example.com`);
    expect(out.subject).toBe("Re line Bcc: evil@example.com");
  });

  it("an unknown zone falls back to UTC; a missing variable renders empty", () => {
    const out = renderEmail({ subject: "x", body: "{{event_at}}|{{variables.nope}}|" }, { ...values, timezone: "Mars/Olympus" });
    expect(out.text).toBe("Saturday, December 5, 2026 at 2:00 PM (UTC)||");
  });

  it("lists variables in order and WhatsApp parameters by appearance", () => {
    expect(parseTemplate("{{ event_at }} {{contact.name}} {{event_at}}")).toEqual({ variables: ["event_at", "contact.name"], errors: [] });
    expect(parameters("{{contact.name}} at {{variables.place}}, {{contact.name}}", values)).toEqual([values.contact.name, values.variables.place, values.contact.name]);
  });

  it("makes text of HTML", () => {
    expect(htmlToText("<p>a &amp; b</p><p>c<br>d</p><style>x{}</style>")).toBe("a & b\nc\nd");
  });
});
