/**
 * `GET /metrics` through a real server: exact counts and bytes by type and state, timestamps of
 * the newest good and verified backups, the last run, and a copy destination's lag; and output
 * a Prometheus parser accepts (HELP and TYPE for every family, no duplicate series).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startApiFixture } from "../helpers/api_server.ts";
import { waitForJob } from "./api_test.ts";

/** Samples by `name{labels}`, and the families with their HELP/TYPE lines. */
function parse(text: string) {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\w+) /.exec(line);
    if (meta) {
      (meta[1] === "HELP" ? helped : typed).add(meta[2]);
      continue;
    }
    const sample = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const key = sample[1] + (sample[2] ?? "");
    assert.ok(!samples.has(key), `duplicate series ${key}`);
    assert.ok(typed.has(sample[1]) && helped.has(sample[1]), `no HELP/TYPE for ${sample[1]}`);
    samples.set(key, Number(sample[3]));
  }
  return samples;
}

Deno.test("metrics count backups by type and state and follow runs and destinations", async (t) => {
  const api = await startApiFixture({ config: { copies: [{ url: "./copies" }] } });
  const scrape = async () => {
    const response = await api.request("/metrics", { token: api.viewerToken });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parse(await response.text());
  };
  try {
    await t.step("an empty store: zero counts, zero timestamps, no run", async () => {
      const m = await scrape();
      assert.equal(m.get('backup_manager_backups{type="full",state="ok"}'), 0);
      assert.equal(m.get("backup_manager_last_backup_timestamp_seconds"), 0);
      assert.equal(m.get("backup_manager_last_run_success"), 0);
      assert.equal(m.get("backup_manager_database_up"), 1);
      assert.equal(m.get("backup_manager_health"), 2);
    });

    const created: { id: string; createdAt: string; size: number }[] = [];
    await t.step("backups, a verification and a damaged file show exactly", async () => {
      for (const type of ["full", "full", "schema"]) {
        const response = await api.request("/api/v1/backups", {
          method: "POST",
          body: JSON.stringify({ type }),
        });
        const done = await waitForJob(api, (await response.json()).job.url);
        created.push((done.result as { backup: typeof created[0] }).backup);
      }
      const verify = await api.request(`/api/v1/backups/${created[0].id}/verify`, {
        method: "POST",
      });
      assert.equal((await waitForJob(api, (await verify.json()).job.url)).state, "succeeded");
      await Deno.truncate(join(api.dir, `${created[1].id}.sql.gz`), 10);
      const m = await scrape();
      assert.equal(m.get('backup_manager_backups{type="full",state="verified"}'), 1);
      assert.equal(m.get('backup_manager_backups{type="full",state="damaged"}'), 1);
      assert.equal(m.get('backup_manager_backups{type="schema",state="ok"}'), 1);
      const schemaBytes = (await Deno.stat(join(api.dir, `${created[2].id}.sql.gz`))).size +
        (await Deno.stat(join(api.dir, `${created[2].id}.meta.json`))).size;
      assert.equal(m.get('backup_manager_backup_bytes{type="schema",state="ok"}'), schemaBytes);
      assert.equal(
        m.get('backup_manager_last_good_backup_timestamp_seconds{type="full"}'),
        Date.parse(created[0].createdAt) / 1000,
      );
      assert.equal(
        m.get('backup_manager_last_verified_backup_timestamp_seconds{type="full"}'),
        Date.parse(created[0].createdAt) / 1000,
      );
      assert.equal(
        m.get("backup_manager_last_backup_timestamp_seconds"),
        Date.parse(created[2].createdAt) / 1000,
      );
      assert.equal(m.get("backup_manager_last_run_success"), 1);
      assert.ok(m.get("backup_manager_last_run_duration_seconds")! > 0);
      assert.equal(m.get("backup_manager_consecutive_failures"), 0);
      assert.ok(
        [...m.keys()].some((k) => k.startsWith('backup_manager_health_reasons{rule="integrity"')),
      );
    });

    await t.step("a copy destination's copies and lag", async () => {
      const copies = JSON.stringify({ destination: join(api.root, "copies") });
      const label = `{destination=${copies.slice(copies.indexOf(":") + 1, -1)}}`;
      let m = await scrape();
      assert.equal(m.get(`backup_manager_destination_up${label}`), 1);
      assert.equal(m.get(`backup_manager_destination_good_copies${label}`), 3);
      assert.equal(m.get(`backup_manager_destination_lagging${label}`), 0);
      await Deno.remove(join(api.root, "copies", `${created[2].id}.meta.json`));
      m = await scrape();
      assert.equal(m.get(`backup_manager_destination_lagging${label}`), 1);
    });

    await t.step("a database that is gone is down and critical", async () => {
      await Deno.remove(api.database);
      const response = await api.request("/api/v1/backups", { method: "POST", body: "{}" });
      assert.equal(response.status, 404);
      const m = await scrape();
      assert.equal(m.get("backup_manager_database_up"), 0);
      assert.equal(m.get("backup_manager_health"), 2);
    });
  } finally {
    assert.equal(await api.stop(), 0);
  }
});
