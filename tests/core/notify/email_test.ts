import assert from "node:assert/strict";
import { type EmailConfig, sendEmail } from "../../../src/core/notify/email.ts";
import { failureEvent } from "../../../src/core/notify/event.ts";
import { headerValue, TEST_CERT, withSmtpReceiver } from "../../helpers/smtp_receiver.ts";

const TIME = new Date("2026-11-23T10:15:00.000Z");
const PASSWORD = "s3cret-smtp-passw0rd";

function config(port: number, extra: Partial<EmailConfig> = {}): EmailConfig {
  return {
    host: "127.0.0.1",
    port,
    secure: false,
    starttls: false,
    user: "backup",
    password: PASSWORD,
    from: "Backups <backups@example.com>",
    to: ["ops@example.com", "dba@example.com"],
    ...extra,
  };
}

/** The message body with quoted-printable soft line breaks joined. */
function body(raw: string): string {
  return raw.slice(raw.indexOf("\r\n\r\n") + 4).replace(/=\r\n/g, "").replace(/=3D/g, "=");
}

Deno.test("sendEmail() logs in and delivers the subject and body, without the password", async () => {
  await withSmtpReceiver({ user: "backup", password: PASSWORD }, async (receiver) => {
    const event = failureEvent(TIME, "app.db", 'Cannot back up "app.db": disk full');
    await sendEmail(config(receiver.port), event, { host: "db-1", timeoutMs: 5000 });
    assert.deepEqual(receiver.logins, [{ user: "backup", ok: true }]);
    assert.equal(receiver.messages.length, 1);
    const [mail] = receiver.messages;
    assert.equal(mail.from, "backups@example.com");
    assert.deepEqual(mail.to, ["ops@example.com", "dba@example.com"]);
    assert.equal(mail.user, "backup");
    assert.equal(
      headerValue(mail.raw, "Subject"),
      '[backup-manager] Backup of "app.db" failed on db-1',
    );
    assert.equal(
      body(mail.raw),
      'Backup of "app.db" failed on db-1.\r\n\r\n' +
        'Cannot back up "app.db": disk full\r\n\r\n' +
        "Event: failure\r\nTime: 2026-11-23T10:15:00.000Z\r\nDatabase: app.db\r\n\r\n" +
        "-- backup-manager\r\n",
    );
    assert.ok(!mail.raw.includes(PASSWORD));
    assert.ok(!mail.raw.includes(btoa(PASSWORD)));
  });
});

Deno.test("sendEmail() upgrades with STARTTLS before it logs in", async () => {
  await withSmtpReceiver({ user: "backup", password: PASSWORD }, async (receiver) => {
    await sendEmail(
      config(receiver.port, { starttls: true, host: "localhost" }),
      failureEvent(TIME, "app.db", "boom"),
      { host: "db-1", timeoutMs: 5000, tlsCa: TEST_CERT },
    );
    assert.equal(receiver.messages.length, 1);
    assert.equal(receiver.messages[0].secure, true);
  });
});

Deno.test("sendEmail() refuses to send when STARTTLS is required and not offered", async () => {
  await withSmtpReceiver({
    user: "backup",
    password: PASSWORD,
    starttls: false,
  }, async (receiver) => {
    await assert.rejects(() =>
      sendEmail(
        config(receiver.port, { starttls: true }),
        failureEvent(TIME, "app.db", "boom"),
        { host: "db-1", timeoutMs: 5000 },
      )
    );
    assert.deepEqual(receiver.logins, [], "the password never went out in clear");
    assert.equal(receiver.messages.length, 0);
  });
});

Deno.test("sendEmail() refuses a server certificate it does not trust", async () => {
  await withSmtpReceiver({ user: "backup", password: PASSWORD }, async (receiver) => {
    await assert.rejects(() =>
      sendEmail(
        config(receiver.port, { starttls: true, host: "localhost" }),
        failureEvent(TIME, "app.db", "boom"),
        { host: "db-1", timeoutMs: 5000 },
      )
    );
    assert.deepEqual(receiver.logins, []);
    assert.equal(receiver.messages.length, 0);
  });
});

Deno.test("sendEmail() fails on a wrong password", async () => {
  await withSmtpReceiver({ user: "backup", password: PASSWORD }, async (receiver) => {
    await assert.rejects(() =>
      sendEmail(
        config(receiver.port, { password: "wrong" }),
        failureEvent(TIME, "app.db", "boom"),
        { host: "db-1", timeoutMs: 5000 },
      )
    );
    assert.deepEqual(receiver.logins, [{ user: "backup", ok: false }]);
    assert.equal(receiver.messages.length, 0);
  });
});
