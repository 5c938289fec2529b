import assert from "node:assert/strict";
import { LocalStorage } from "../../../src/storage/local.ts";
import { Notifier } from "../../../src/core/notify/notifier.ts";
import { RunReporter } from "../../../src/core/notify/run_reporter.ts";
import type { HealthAssessment } from "../../../src/core/health.ts";
import { withReceiver } from "../../helpers/http_receiver.ts";
import { FakeClock } from "../../helpers/cli.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

Deno.test("RunReporter pings start, then success or fail, notifies, then announces a health change", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      let health: Pick<HealthAssessment, "level" | "reasons"> = { level: "healthy", reasons: [] };
      const notifier = new Notifier({
        on: ["failure", "success", "health"],
        webhooks: [{ url: `${receiver.url}/hook`, format: "json" }],
        healthchecks: {
          start: `${receiver.url}/ping/start`,
          success: `${receiver.url}/ping`,
          fail: `${receiver.url}/ping/fail`,
        },
      }, { log: () => {}, host: "db-1" });
      const reporter = new RunReporter(notifier, {
        database: "app.db",
        storage: new LocalStorage(ws.dir),
        clock: new FakeClock(),
        log: () => {},
        assess: () => Promise.resolve(health),
      });
      await reporter.started();
      await reporter.succeeded("full_20261123T101500000Z");
      await reporter.started();
      health = {
        level: "warning",
        reasons: [{ level: "warning", rule: "last-run", message: "the last run failed" }],
      };
      await reporter.failed("disk full");
      const seen = receiver.requests.map((r) =>
        r.path === "/hook" ? `hook ${JSON.parse(r.body).event}` : `${r.path} ${r.body}`.trim()
      );
      // a ping and its notification go out together, so their order is not fixed
      assert.deepEqual(seen.slice(0, 1), ["/ping/start"]);
      assert.deepEqual(seen.slice(1, 3).sort(), [
        "/ping backup full_20261123T101500000Z",
        "hook success",
      ]);
      assert.deepEqual(seen.slice(3, 4), ["/ping/start"]);
      assert.deepEqual(seen.slice(4, 6).sort(), ["/ping/fail disk full", "hook failure"]);
      assert.deepEqual(seen.slice(6), ["hook health"]);
    });
  });
});

Deno.test("RunReporter logs a health check that fails and carries on", async () => {
  await withWorkspace(async (ws) => {
    const log: string[] = [];
    const notifier = new Notifier({
      on: ["health"],
      webhooks: [{ url: "http://127.0.0.1:9/", format: "json" }],
    }, { log: () => {}, host: "db-1" });
    const reporter = new RunReporter(notifier, {
      database: "app.db",
      storage: new LocalStorage(ws.dir),
      clock: new FakeClock(),
      log: (m) => log.push(m),
      assess: () => Promise.reject(new Error("store unreadable")),
    });
    await reporter.checkHealth();
    assert.deepEqual(log, ["Cannot check health after the run: store unreadable"]);
  });
});
