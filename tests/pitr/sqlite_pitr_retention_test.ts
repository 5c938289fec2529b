/**
 * Replication's store keeps whole generations: a scheduled snapshot starts a new one, those whose
 * span ended before the window go (segments first, never a segment without its snapshot), the
 * newest always stays; a starting replicator removes what killed ones left.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteReplicator } from "../../src/pitr/sqlite_replicator.ts";
import { restoreSqliteAt } from "../../src/pitr/sqlite_pitr_restore.ts";
import { generationsToRemove } from "../../src/pitr/sqlite_pitr_retention.ts";
import { listGenerations } from "../../src/pitr/sqlite_pitr_store.ts";
import { FakeClock } from "../helpers/cli.ts";
import { currentOwner } from "../../src/core/scratch_names.ts";
import { partialName } from "../../src/storage/partial_name.ts";

Deno.test("generationsToRemove(): a generation goes once its span ended before the window", () => {
  const g = (id: string, takenAt: string) => ({ generation: id, takenAt });
  const gens = [
    g("a", "2026-12-01T00:00:00Z"),
    g("b", "2026-12-02T00:00:00Z"),
    g("c", "2026-12-03T00:00:00Z"),
  ];
  const day = 24 * 3600_000;
  const cases: [string, number, string[]][] = [
    ["2026-12-03T12:00:00Z", 7 * day, []],
    ["2026-12-03T12:00:00Z", day, ["a"]], // a ended at b's snapshot, 1.5 days ago
    ["2026-12-03T12:00:00Z", 6 * 3600_000, ["a", "b"]],
    ["2026-12-30T00:00:00Z", 0, ["a", "b"]], // the newest always stays
  ];
  for (const [now, keep, expected] of cases) {
    assert.deepEqual(generationsToRemove(gens, new Date(now), keep), expected, `${now} ${keep}`);
  }
  assert.deepEqual(generationsToRemove([], new Date(), 0), []);
});

Deno.test("scheduled snapshots start generations; old ones go whole; leftovers of killed runs are removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bm-pitr-retention-" });
  try {
    const path = join(dir, "app.db");
    const app = new DatabaseSync(path);
    app.exec(`PRAGMA journal_mode = WAL; CREATE TABLE events (id INTEGER PRIMARY KEY, body BLOB);`);
    const insert = app.prepare("INSERT INTO events (body) VALUES (randomblob(200))");
    const storeDir = join(dir, "pitr");
    const store = new LocalStorage(storeDir);
    // what a killed replicator left: a segment without its manifest, a partial of a dead process
    await Deno.mkdir(storeDir, { recursive: true });
    await Deno.writeTextFile(join(storeDir, "g20261101T000000000Z.00000007.wal.gz"), "x");
    const dead = { ...currentOwner(new Date("2026-11-01T00:00:00Z")), pid: 999_999_999 };
    await Deno.writeTextFile(
      join(storeDir, partialName("g20261101T000000000Z.00000008.wal.gz", dead)),
      "x",
    );
    const clock = new FakeClock("2026-12-03T10:00:00.000Z");
    const replicator = new SqliteReplicator(path, store, {
      clock,
      snapshotEveryMs: 10_000,
      keepMs: 30_000,
    });
    const moments: { at: Date; rows: number }[] = [];
    try {
      for (let second = 0; second < 80; second++) {
        for (let i = 0; i < 5; i++) insert.run();
        await replicator.step();
        moments.push({
          at: clock.now(),
          rows: Number(app.prepare("SELECT count(*) AS n FROM events").get()!.n),
        });
        clock.advance(1000);
      }
    } finally {
      await replicator.close();
      app.close();
    }
    const names = [];
    for await (const e of Deno.readDir(storeDir)) names.push(e.name);
    assert.ok(!names.some((n) => n.startsWith("g20261101")), names.join("\n"));
    const generations = await listGenerations(store);
    assert.ok(
      generations.length >= 3 && generations.length <= 5,
      `${generations.length} generations`,
    );
    const kept = new Set(generations.map((g) => g.generation));
    for (const name of names) {
      assert.ok(kept.has(name.split(".")[0]), `${name} belongs to a kept generation`);
    }
    const oldest = new Date(generations[0].takenAt);
    for (const moment of moments.filter((m) => m.at >= oldest).filter((_, i) => i % 4 === 0)) {
      const out = join(dir, `m-${moment.at.getTime()}.db`);
      await restoreSqliteAt(store, moment.at, out);
      const db = new DatabaseSync(out, { readOnly: true });
      assert.equal(Number(db.prepare("SELECT count(*) AS n FROM events").get()!.n), moment.rows);
      db.close();
    }
    await assert.rejects(
      restoreSqliteAt(store, moments[0].at, join(dir, "gone.db")),
      /no replicated snapshot is that old/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
