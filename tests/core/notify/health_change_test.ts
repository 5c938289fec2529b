import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../src/storage/local.ts";
import { StorageError } from "../../../src/core/errors.ts";
import {
  HEALTH_STATE_KEY,
  notifyHealthChange,
  readHealthState,
} from "../../../src/core/notify/health_change.ts";
import { Notifier, type NotifyConfig } from "../../../src/core/notify/notifier.ts";
import type { HealthAssessment } from "../../../src/core/health.ts";
import { withReceiver } from "../../helpers/http_receiver.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

const TIME = new Date("2026-11-23T10:15:00.000Z");
const WARNING: Pick<HealthAssessment, "level" | "reasons"> = {
  level: "warning",
  reasons: [{ level: "warning", rule: "rpo", message: "the newest good backup is too old" }],
};
const HEALTHY: Pick<HealthAssessment, "level" | "reasons"> = { level: "healthy", reasons: [] };

function notifier(url: string, on: NotifyConfig["on"] = ["health"]): Notifier {
  return new Notifier({ on, webhooks: [{ url, format: "json" }] }, {
    log: () => {},
    host: "db-1",
    timeoutMs: 5000,
  });
}

Deno.test("notifyHealthChange() announces each change of level once and remembers it", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      const storage = new LocalStorage(ws.dir);
      const n = notifier(receiver.url);
      const options = { database: "app.db", time: TIME, log: () => {} };
      assert.equal(
        await notifyHealthChange(storage, n, HEALTHY, options),
        false,
        "healthy at first",
      );
      assert.equal(await notifyHealthChange(storage, n, WARNING, options), true);
      assert.equal(await notifyHealthChange(storage, n, WARNING, options), false, "no repeat");
      assert.equal(await notifyHealthChange(storage, n, HEALTHY, options), true, "recovery");
      const bodies = receiver.requests.map((r) => JSON.parse(r.body));
      assert.deepEqual(bodies.map((b) => b.summary), [
        'Backup health of "app.db" is warning (was healthy)',
        'Backup health of "app.db" is healthy (was warning)',
      ]);
      assert.deepEqual(bodies[0].details, ["warning: the newest good backup is too old"]);
      assert.deepEqual(bodies[1].details, ["every health check passes"]);
      assert.deepEqual(await readHealthState(storage), {
        level: "healthy",
        since: "2026-11-23T10:15:00.000Z",
      });
    });
  });
});

Deno.test("notifyHealthChange() announces again a change no channel delivered", async () => {
  await withReceiver(503, async (receiver) => {
    await withWorkspace(async (ws) => {
      const storage = new LocalStorage(ws.dir);
      const n = notifier(receiver.url);
      const options = { database: "app.db", time: TIME, log: () => {} };
      assert.equal(await notifyHealthChange(storage, n, WARNING, options), false);
      assert.equal(await readHealthState(storage), undefined);
      receiver.answer(200);
      assert.equal(await notifyHealthChange(storage, n, WARNING, options), true);
      assert.equal(receiver.requests.length, 2);
    });
  });
});

Deno.test("notifyHealthChange() does nothing, and writes nothing, unless health notifications are on", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      const storage = new LocalStorage(ws.dir);
      const n = notifier(receiver.url, ["failure", "success"]);
      const options = { database: "app.db", time: TIME, log: () => {} };
      assert.equal(await notifyHealthChange(storage, n, WARNING, options), false);
      assert.equal(receiver.requests.length, 0);
      await assert.rejects(() => Deno.stat(ws.dir), Deno.errors.NotFound);
    });
  });
});

Deno.test("notifyHealthChange() takes an unreadable state file for healthy", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      await Deno.mkdir(ws.dir);
      await Deno.writeTextFile(join(ws.dir, HEALTH_STATE_KEY), "{ torn");
      const storage = new LocalStorage(ws.dir);
      assert.equal(await readHealthState(storage), undefined);
      const options = { database: "app.db", time: TIME, log: () => {} };
      assert.equal(
        await notifyHealthChange(storage, notifier(receiver.url), WARNING, options),
        true,
      );
      assert.equal((await readHealthState(storage))?.level, "warning");
    });
  });
});

Deno.test("notifyHealthChange() logs a state file it cannot write and does not throw", async () => {
  await withReceiver(200, async (receiver) => {
    await withWorkspace(async (ws) => {
      await Deno.mkdir(ws.dir);
      // the store refuses the write, as a full disk does (a leftover partial no longer blocks
      // it: partials are named after their writer)
      class FullStorage extends LocalStorage {
        override create(key: string): Promise<never> {
          return Promise.reject(
            new StorageError(`Cannot write "${join(this.location, key)}": the disk is full`),
          );
        }
      }
      const log: string[] = [];
      const options = { database: "app.db", time: TIME, log: (m: string) => log.push(m) };
      const storage = new FullStorage(ws.dir);
      assert.equal(
        await notifyHealthChange(storage, notifier(receiver.url), WARNING, options),
        false,
      );
      assert.equal(log.length, 1);
      assert.match(
        log[0],
        /^Cannot keep track of health notifications: Cannot write ".*health-state\.json"/,
      );
    });
  });
});
