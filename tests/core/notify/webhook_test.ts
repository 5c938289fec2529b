import assert from "node:assert/strict";
import { sendWebhook } from "../../../src/core/notify/webhook.ts";
import { failureEvent, healthEvent, successEvent } from "../../../src/core/notify/event.ts";
import { withReceiver } from "../../helpers/http_receiver.ts";

const TIME = new Date("2026-11-23T10:15:00.000Z");
const OPTIONS = { host: "db-1", timeoutMs: 5000 };

Deno.test("sendWebhook() posts the generic JSON body of a failure", async () => {
  await withReceiver(200, async (receiver) => {
    const event = failureEvent(TIME, "app.db", 'Cannot back up "app.db": disk full');
    await sendWebhook({ url: `${receiver.url}/hook/secret`, format: "json" }, event, OPTIONS);
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/hook/secret");
    assert.equal(request.contentType, "application/json");
    assert.deepEqual(JSON.parse(request.body), {
      source: "backup-manager",
      event: "failure",
      time: "2026-11-23T10:15:00.000Z",
      host: "db-1",
      database: "app.db",
      summary: 'Backup of "app.db" failed',
      details: ['Cannot back up "app.db": disk full'],
      error: 'Cannot back up "app.db": disk full',
    });
  });
});

Deno.test("sendWebhook() posts a health change with its levels and reasons", async () => {
  await withReceiver(200, async (receiver) => {
    const reasons = [{ level: "warning" as const, rule: "rpo" as const, message: "too old" }];
    const event = healthEvent(TIME, "app.db", "healthy", { level: "warning", reasons });
    await sendWebhook({ url: receiver.url, format: "json" }, event, OPTIONS);
    const body = JSON.parse(receiver.requests[0].body);
    assert.equal(body.event, "health");
    assert.equal(body.summary, 'Backup health of "app.db" is warning (was healthy)');
    assert.deepEqual(body.details, ["warning: too old"]);
    assert.deepEqual(body.health, { level: "warning", previous: "healthy", reasons });
  });
});

Deno.test("sendWebhook() posts a Slack-compatible body with text and blocks", async () => {
  await withReceiver(200, async (receiver) => {
    const event = successEvent(TIME, "app.db", "full_20261123T101500000Z");
    await sendWebhook({ url: receiver.url, format: "slack" }, event, OPTIONS);
    assert.deepEqual(JSON.parse(receiver.requests[0].body), {
      text: 'Backup of "app.db" succeeded: full_20261123T101500000Z on db-1',
      blocks: [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: '*Backup of "app.db" succeeded: full_20261123T101500000Z on db-1*',
          },
        },
        {
          type: "context",
          elements: [{
            type: "mrkdwn",
            text: "backup-manager · success · 2026-11-23T10:15:00.000Z",
          }],
        },
      ],
    });
  });
});

Deno.test("sendWebhook() escapes Slack's control characters in details", async () => {
  await withReceiver(200, async (receiver) => {
    const event = failureEvent(TIME, "app.db", "a <b> & c");
    await sendWebhook({ url: receiver.url, format: "slack" }, event, OPTIONS);
    const body = JSON.parse(receiver.requests[0].body);
    assert.equal(
      body.blocks[0].text.text,
      '*Backup of "app.db" failed on db-1*\n• a &lt;b&gt; &amp; c',
    );
  });
});

Deno.test("sendWebhook() throws on a non-2xx answer", async () => {
  await withReceiver(500, async (receiver) => {
    await assert.rejects(
      () =>
        sendWebhook({ url: receiver.url, format: "json" }, successEvent(TIME, "a", "b"), OPTIONS),
      { message: "HTTP 500 Internal Server Error" },
    );
  });
});

Deno.test("sendWebhook() gives up on a receiver that never answers", async () => {
  await withReceiver("hang", async (receiver) => {
    await assert.rejects(
      () =>
        sendWebhook({ url: receiver.url, format: "json" }, successEvent(TIME, "a", "b"), {
          host: "db-1",
          timeoutMs: 200,
        }),
      { message: "no answer within 0.2 s" },
    );
  });
});
