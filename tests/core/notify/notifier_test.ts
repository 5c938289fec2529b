import assert from "node:assert/strict";
import { Notifier, type NotifyConfig } from "../../../src/core/notify/notifier.ts";
import { failureEvent, successEvent } from "../../../src/core/notify/event.ts";
import type { EmailConfig } from "../../../src/core/notify/email.ts";
import { startReceiver, withReceiver } from "../../helpers/http_receiver.ts";
import { startSmtpReceiver } from "../../helpers/smtp_receiver.ts";

const TIME = new Date("2026-11-23T10:15:00.000Z");
const TOKEN = "T000/B000/XXXXsecretXXXX";

/** SMTP without TLS to a receiver on 127.0.0.1. */
function plainEmail(port: number, login: { user?: string; password?: string } = {}): EmailConfig {
  return {
    host: "127.0.0.1",
    port,
    secure: false,
    starttls: false,
    from: "backups@example.com",
    to: ["ops@example.com"],
    ...login,
  };
}

function notifier(config: Partial<NotifyConfig>, log: string[] = [], timeoutMs = 5000): Notifier {
  return new Notifier(
    { on: ["failure"], webhooks: [], ...config },
    { log: (line) => log.push(line), timeoutMs, host: "db-1" },
  );
}

Deno.test("notify() sends one event to every webhook and the email at once", async () => {
  const receiver = startReceiver();
  const smtp = await startSmtpReceiver({ user: "u", password: "smtp-pass-123" });
  try {
    const log: string[] = [];
    const deliveries = await notifier({
      webhooks: [
        { url: `${receiver.url}/json`, format: "json" },
        { url: `${receiver.url}/slack/${TOKEN}`, format: "slack" },
      ],
      email: plainEmail(smtp.port, { user: "u", password: "smtp-pass-123" }),
    }, log).notify(failureEvent(TIME, "app.db", "boom"));
    assert.deepEqual(deliveries, [
      { channel: `webhook "${receiver.url}/…"`, ok: true },
      { channel: `webhook "${receiver.url}/…"`, ok: true },
      { channel: `email "127.0.0.1:${smtp.port}"`, ok: true },
    ]);
    assert.deepEqual(receiver.requests.map((r) => r.path).sort(), ["/json", `/slack/${TOKEN}`]);
    assert.equal(smtp.messages.length, 1);
    assert.deepEqual(log, []);
  } finally {
    await receiver.close();
    await smtp.close();
  }
});

Deno.test("notify() sends only the kinds listed in `on`", async () => {
  await withReceiver(200, async (receiver) => {
    const n = notifier({ on: ["failure"], webhooks: [{ url: receiver.url, format: "json" }] });
    assert.equal(n.wants("success"), false);
    assert.deepEqual(await n.notify(successEvent(TIME, "app.db", "full_1")), []);
    assert.equal(receiver.requests.length, 0);
    assert.equal((await n.notify(failureEvent(TIME, "app.db", "boom"))).length, 1);
    assert.equal(receiver.requests.length, 1);
  });
});

Deno.test("notify() logs a receiver's 500 in one line without the hook's secret, and does not throw", async () => {
  await withReceiver(500, async (receiver) => {
    const log: string[] = [];
    const n = notifier(
      { webhooks: [{ url: `${receiver.url}/hook/${TOKEN}`, format: "slack" }] },
      log,
    );
    const deliveries = await n.notify(failureEvent(TIME, "app.db", "boom"));
    assert.deepEqual(deliveries, [{
      channel: `webhook "${receiver.url}/…"`,
      ok: false,
      error: "HTTP 500 Internal Server Error",
    }]);
    assert.deepEqual(log, [
      `Cannot send the failure notification by webhook "${receiver.url}/…": HTTP 500 Internal Server Error (backups are not affected)`,
    ]);
  });
});

Deno.test("notify() gives up on a receiver that hangs, within the timeout, while others get through", async () => {
  const hanging = startReceiver("hang");
  const healthy = startReceiver();
  try {
    const log: string[] = [];
    const n = notifier(
      {
        webhooks: [
          { url: `${hanging.url}/${TOKEN}`, format: "json" },
          { url: healthy.url, format: "json" },
        ],
      },
      log,
      300,
    );
    const started = performance.now();
    const deliveries = await n.notify(failureEvent(TIME, "app.db", "boom"));
    assert.ok(performance.now() - started < 3000, "bounded by the timeout");
    assert.deepEqual(deliveries.map((d) => d.ok), [false, true]);
    assert.deepEqual(log, [
      `Cannot send the failure notification by webhook "${hanging.url}/…": no answer within 0.3 s (backups are not affected)`,
    ]);
    assert.equal(healthy.requests.length, 1);
  } finally {
    await hanging.close();
    await healthy.close();
  }
});

Deno.test("notify() logs an unreachable hook with its URL cut to scheme and host", async () => {
  const receiver = startReceiver();
  await receiver.close(); // nothing listens on its port now
  const log: string[] = [];
  const url = `${receiver.url}/services/${TOKEN}?token=abc123`;
  await notifier({ webhooks: [{ url, format: "json" }] }, log)
    .notify(failureEvent(TIME, "app.db", "boom"));
  assert.equal(log.length, 1);
  assert.match(
    log[0],
    /^Cannot send the failure notification by webhook "http:\/\/127\.0\.0\.1:\d+\/…": /,
  );
  assert.ok(!log[0].includes(TOKEN) && !log[0].includes("abc123"), log[0]);
  assert.ok(!log[0].includes("\n"));
});

Deno.test("notify() never logs the SMTP password", async () => {
  const password = "pa55-word-that-is-secret";
  const smtp = await startSmtpReceiver({ user: "u", password: "another" });
  try {
    const log: string[] = [];
    await notifier({ email: plainEmail(smtp.port, { user: "u", password }) }, log).notify(
      failureEvent(TIME, "app.db", "boom"),
    );
    assert.equal(log.length, 1);
    assert.match(
      log[0],
      /^Cannot send the failure notification by email "127\.0\.0\.1:\d+": .*Invalid/,
    );
    assert.ok(!log[0].includes(password));
  } finally {
    await smtp.close();
  }
});

Deno.test("notify() gives up on an SMTP server that never greets", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const log: string[] = [];
    await notifier({ email: plainEmail(listener.addr.port) }, log, 300).notify(
      failureEvent(TIME, "app.db", "boom"),
    );
    assert.equal(log.length, 1);
    assert.match(log[0], /^Cannot send the failure notification by email "127\.0\.0\.1:\d+": /);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("ping() hits start, then success or fail with the error, in order", async () => {
  await withReceiver(200, async (receiver) => {
    const n = notifier({
      healthchecks: {
        start: `${receiver.url}/uuid/start`,
        success: `${receiver.url}/uuid`,
        fail: `${receiver.url}/uuid/fail`,
      },
    });
    await n.ping("start");
    await n.ping("success");
    await n.ping("start");
    await n.ping("fail", 'Cannot back up "app.db": disk full');
    assert.deepEqual(receiver.requests.map((r) => [r.method, r.path, r.body]), [
      ["POST", "/uuid/start", ""],
      ["POST", "/uuid", ""],
      ["POST", "/uuid/start", ""],
      ["POST", "/uuid/fail", 'Cannot back up "app.db": disk full'],
    ]);
  });
});

Deno.test("ping() skips a stage without a URL and logs a failed ping without throwing", async () => {
  await withReceiver(404, async (receiver) => {
    const log: string[] = [];
    const n = notifier({ healthchecks: { fail: `${receiver.url}/${TOKEN}/fail` } }, log);
    assert.equal(await n.ping("start"), undefined);
    const delivery = await n.ping("fail", "boom");
    assert.equal(delivery?.ok, false);
    assert.deepEqual(log, [
      `Cannot send ping "${receiver.url}/…" (fail): HTTP 404 Not Found (backups are not affected)`,
    ]);
  });
});
