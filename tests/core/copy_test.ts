import assert from "node:assert/strict";
import { join } from "node:path";
import { copyBackup, missingBackups } from "../../src/core/copy.ts";
import type { BackupMeta } from "../../src/core/backup_file.ts";
import type { CatalogEntry } from "../../src/core/catalog.ts";
import { IntegrityError, RefusedError } from "../../src/core/errors.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { listNames, makeDatabase, withWorkspace } from "../helpers/workspace.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date("2026-12-02T12:00:00Z");

/** A catalog entry `days` old; `good: false` gives it a problem. */
function entry(id: string, days: number, good = true, type = "full"): CatalogEntry {
  return {
    id,
    type: type as CatalogEntry["type"],
    createdAt: new Date(NOW.getTime() - days * DAY),
    meta: {} as BackupMeta,
    metaSize: 1,
    ...(good ? {} : { problem: "damaged" }),
  };
}

const cases: {
  name: string;
  primary: CatalogEntry[];
  destination: CatalogEntry[];
  policy: Record<string, number>;
  copy: string[];
  skip: string[];
}[] = [
  {
    name: "copies every good backup the destination lacks, newest first, without a policy",
    primary: [entry("c", 0), entry("b", 1), entry("a", 2)],
    destination: [entry("a", 2)],
    policy: {},
    copy: ["c", "b"],
    skip: [],
  },
  {
    name: "skips what the destination's retention would delete at its next cleanup",
    primary: [entry("c", 0), entry("b", 1), entry("a", 2)],
    destination: [],
    policy: { keepLast: 2 },
    copy: ["c", "b"],
    skip: ["a"],
  },
  {
    name: "counts the destination's own backups against its rules",
    primary: [entry("c", 0), entry("b", 1)],
    destination: [entry("d", 0.5), entry("c", 0)],
    policy: { keepLast: 2 },
    copy: [],
    skip: ["b"],
  },
  {
    name: "never copies a damaged backup or a pre-restore safety copy",
    primary: [entry("c", 0, false), entry("p", 0.5, true, "pre-restore"), entry("b", 1)],
    destination: [],
    policy: {},
    copy: ["b"],
    skip: [],
  },
  {
    name: "copies again a backup whose copy at the destination is damaged",
    primary: [entry("b", 1)],
    destination: [entry("b", 1, false)],
    policy: { keepDays: 7 },
    copy: ["b"],
    skip: [],
  },
];

for (const c of cases) {
  Deno.test(`missingBackups() ${c.name}`, () => {
    const plan = missingBackups(c.primary, c.destination, c.policy, NOW, "UTC");
    assert.deepEqual(plan.copy.map((b) => b.id), c.copy);
    assert.deepEqual(plan.skip.map((b) => b.id), c.skip);
  });
}

async function withBackup(
  fn: (
    from: LocalStorage,
    to: LocalStorage,
    id: string,
    dirs: { from: string; to: string },
  ) => Promise<void>,
): Promise<void> {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const result = await runCli(
      ["create", "--database", ws.database, "--dir", ws.dir, "--format", "json"],
      { clock: new FakeClock() },
    );
    assert.equal(result.code, 0, result.stderr);
    const id = JSON.parse(result.stdout).id as string;
    const other = join(ws.root, "copy");
    await fn(new LocalStorage(ws.dir), new LocalStorage(other), id, { from: ws.dir, to: other });
  });
}

Deno.test("copyBackup() copies data and sidecar byte for byte, and a second copy writes nothing", async () => {
  await withBackup(async (from, to, id, dirs) => {
    const first = await copyBackup(from, to, id.slice(-8));
    assert.equal(first.alreadyThere, false);
    assert.ok(first.bytes > 0);
    for (const name of [`${id}.sql.gz`, `${id}.meta.json`]) {
      assert.deepEqual(
        await Deno.readFile(join(dirs.to, name)),
        await Deno.readFile(join(dirs.from, name)),
      );
      assert.equal((await Deno.stat(join(dirs.to, name))).mode! & 0o777, 0o600);
    }
    const second = await copyBackup(from, to, id);
    assert.deepEqual({ ...second, bytes: second.bytes }, {
      ...first,
      bytes: 0,
      alreadyThere: true,
    });
  });
});

Deno.test("copyBackup() refuses a damaged source and keeps nothing at the destination", async () => {
  await withBackup(async (from, to, id, dirs) => {
    const path = join(dirs.from, `${id}.sql.gz`);
    const bytes = await Deno.readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.writeFile(path, bytes);
    await assert.rejects(
      () => copyBackup(from, to, id),
      (error: Error) =>
        error instanceof IntegrityError &&
        error.message ===
          `Cannot copy backup "${id}": its data file "${id}.sql.gz" is damaged (bytes changed: ${bytes.length} bytes as recorded, but another SHA-256); restore another backup`,
    );
    assert.deepEqual(await listNames(dirs.to), []);
  });
});

Deno.test("copyBackup() repairs a copy whose data file is truncated", async () => {
  await withBackup(async (from, to, id, dirs) => {
    await copyBackup(from, to, id);
    await Deno.truncate(join(dirs.to, `${id}.sql.gz`), 10);
    const repaired = await copyBackup(from, to, id);
    assert.equal(repaired.alreadyThere, false);
    assert.deepEqual(
      await Deno.readFile(join(dirs.to, `${id}.sql.gz`)),
      await Deno.readFile(join(dirs.from, `${id}.sql.gz`)),
    );
  });
});

Deno.test("copyBackup() replaces a data file left without its sidecar by an interrupted copy", async () => {
  await withBackup(async (from, to, id, dirs) => {
    await Deno.mkdir(dirs.to, { recursive: true });
    await Deno.writeTextFile(join(dirs.to, `${id}.sql.gz`), "half an upload");
    await copyBackup(from, to, id);
    assert.deepEqual(
      await Deno.readFile(join(dirs.to, `${id}.sql.gz`)),
      await Deno.readFile(join(dirs.from, `${id}.sql.gz`)),
    );
  });
});

Deno.test("copyBackup() refuses to overwrite another backup of the same id", async () => {
  await withBackup(async (from, to, id, dirs) => {
    await copyBackup(from, to, id);
    const sidecar = join(dirs.from, `${id}.meta.json`);
    // another backup under the same id at the source: a different checksum
    const meta = JSON.parse(await Deno.readTextFile(sidecar));
    const { serializeMeta } = await import("../../src/core/backup_file.ts");
    await Deno.writeFile(
      sidecar,
      serializeMeta({ ...meta, file: { ...meta.file, sha256: "0".repeat(64) } }),
    );
    await assert.rejects(
      () => copyBackup(from, to, id),
      (error: Error) =>
        error instanceof RefusedError &&
        error.message ===
          `Cannot copy backup "${id}" to "${dirs.to}": it holds a different backup of the same id (remove it there first)`,
    );
  });
});
