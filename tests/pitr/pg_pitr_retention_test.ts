/**
 * Retention of PostgreSQL's point-in-time archive by tables: which base backups `pitr.keepDays`
 * keeps (every one finished inside the window, the newest one before it, and always the newest),
 * and which WAL goes (every segment, partial and backup label below the oldest kept base
 * backup's first segment, never a timeline history); then `pruneArchive()` on a real directory
 * store removes exactly those manifests and their data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStorage } from "../../src/storage/open_storage.ts";
import { archiveToPrune, pruneArchive } from "../../src/pitr/pg_pitr_retention.ts";
import {
  type BaseBackupManifest,
  baseKeys,
  listBaseBackups,
} from "../../src/pitr/pg_base_backup.ts";
import { archivedNames, pushWal, walKeys } from "../../src/pitr/pg_wal_archive.ts";
import { segmentName } from "../../src/pitr/pg_wal_names.ts";
import { writeManifest, writeStored } from "../../src/pitr/sqlite_pitr_store.ts";

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const NOW = new Date("2026-12-10T00:00:00.000Z");
/** With keepDays 7 the window opens at 2026-12-03T00:00:00Z. */
const KEEP_DAYS = 7;

type Base = Pick<BaseBackupManifest, "id" | "stoppedAt" | "startWal" | "walSegmentSize">;

/** A base backup that stopped at `stoppedAt` and needs WAL from segment `start` on. */
function base(stoppedAt: string, start: number | string, size = SIZE): Base {
  const at = new Date(stoppedAt);
  return {
    id: new Date(at.getTime() - 60_000).toISOString().replace(/[-:.]/g, ""),
    stoppedAt: at.toISOString(),
    startWal: typeof start === "string" ? start : segmentName(1, start, size),
    walSegmentSize: size,
  };
}

const seg = (timeline: number, number: number) => segmentName(timeline, number, SIZE);

Deno.test("archiveToPrune() keeps the bases of the window, the one before it and the newest; WAL below the oldest kept goes", () => {
  const b1 = base("2026-11-20T03:00:00Z", 0x02);
  const b2 = base("2026-11-28T03:00:00Z", 0x08);
  const b3 = base("2026-12-02T03:00:00Z", 0x0C);
  const b4 = base("2026-12-05T03:00:00Z", 0x10);
  const b5 = base("2026-12-09T03:00:00Z", 0x14);
  const histories = ["00000002.history", "00000003.history"];
  /** Segments 1 to 0x16 of timeline 1 with each base's label, a partial, and the histories. */
  const archive = [
    ...histories,
    ...Array.from({ length: 0x16 }, (_, i) => seg(1, i + 1)),
    `${seg(1, 0x02)}.00000028.backup`,
    `${seg(1, 0x08)}.00000060.backup`,
    `${seg(1, 0x0B)}.partial`,
    `${seg(1, 0x0C)}.00000028.backup`,
    `${seg(1, 0x0C)}.partial`,
    `${seg(1, 0x10)}.00000028.backup`,
    "RECOVERYXLOG", // never a name the archive holds, never touched
  ];
  const below = (n: number) =>
    archive.filter((name) => /^[0-9A-F]{24}/.test(name) && parseInt(name.slice(16, 24), 16) < n);

  const cases: {
    label: string;
    bases: Base[];
    wal: string[];
    keepDays?: number;
    expected: { bases: string[]; wal: string[] };
  }[] = [
    {
      label: "no base backups: nothing goes, WAL included",
      bases: [],
      wal: archive,
      expected: { bases: [], wal: [] },
    },
    {
      label: "one base, long past the window: kept (the newest always is), the WAL before it goes",
      bases: [b1],
      wal: archive,
      expected: {
        bases: [],
        wal: [seg(1, 1)],
      },
    },
    {
      label: "one old base starting at 0x0C: segments, partials and labels below 0x0C go",
      bases: [b3],
      wal: archive,
      expected: { bases: [], wal: below(0x0C) },
    },
    {
      label: "several: the window's bases and the newest before the cutoff stay, older go",
      bases: [b4, b1, b5, b3, b2], // any order
      wal: archive,
      expected: { bases: [b1.id, b2.id], wal: below(0x0C) },
    },
    {
      label: "all inside a wider window: every base stays, WAL below the oldest goes",
      bases: [b1, b2, b3, b4, b5],
      wal: archive,
      keepDays: 30,
      expected: { bases: [], wal: below(0x02) },
    },
    {
      label: "all past a short window: only the newest stays",
      bases: [b1, b2, b3, b4, b5],
      wal: archive,
      keepDays: 0.5,
      expected: { bases: [b1.id, b2.id, b3.id, b4.id], wal: below(0x14) },
    },
    {
      label: "a base finished exactly at the cutoff is inside the window; the one before it stays",
      bases: [b1, b2, base("2026-12-03T00:00:00Z", 0x0E)],
      wal: archive,
      expected: { bases: [b1.id], wal: below(0x08) },
    },
    {
      label: "history files stay even when every segment goes",
      bases: [base("2026-12-09T00:00:00Z", 0x30)],
      wal: archive,
      expected: { bases: [], wal: archive.filter((n) => /^[0-9A-F]{24}/.test(n)) },
    },
  ];
  for (const { label, bases, wal, keepDays, expected } of cases) {
    const prune = archiveToPrune(bases, wal, NOW, keepDays ?? KEEP_DAYS);
    assert.deepEqual(prune, expected, label);
    for (const history of histories) assert.ok(!prune.wal.includes(history), label);
    assert.ok(!prune.wal.includes("RECOVERYXLOG"), label);
  }
});

Deno.test("archiveToPrune() compares segment numbers, not names: log rollover and 1 GiB segments", () => {
  // 16 MiB: the kept base starts in log 1; the end of log 0 goes, later segments stay
  const rollover = archiveToPrune(
    [base("2026-11-01T00:00:00Z", "000000010000000100000002")],
    [
      "0000000100000000000000FE",
      "0000000100000000000000FF",
      "000000010000000100000000.00000028.backup",
      "000000010000000100000001",
      "000000010000000100000002",
      "000000010000000100000002.00000028.backup",
      "000000010000000100000003",
      "0000000100000002000000FF",
    ],
    NOW,
    KEEP_DAYS,
  );
  assert.deepEqual(rollover, {
    bases: [],
    wal: [
      "0000000100000000000000FE",
      "0000000100000000000000FF",
      "000000010000000100000000.00000028.backup",
      "000000010000000100000001",
    ],
  });

  // 1 GiB: four segments a log, so 000000010000000100000001 is segment 5
  const big = archiveToPrune(
    [base("2026-11-01T00:00:00Z", "000000010000000100000001", 1024 * MiB)],
    [
      "000000010000000000000003",
      "000000010000000100000000",
      "000000010000000100000001",
      "000000010000000100000002",
    ],
    NOW,
    KEEP_DAYS,
  );
  assert.deepEqual(big, {
    bases: [],
    wal: ["000000010000000000000003", "000000010000000100000000"],
  });
});

Deno.test("pruneArchive() removes the pruned bases' and WAL files' manifests and data from a directory store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bm-pg-retention-test-" });
  try {
    const store = openStorage(join(dir, "pitr"), {});
    const bytes = new Uint8Array(4096).map((_, i) => i % 251);
    const bases = [
      base("2026-11-20T03:00:00Z", 0x02),
      base("2026-11-28T03:00:00Z", 0x04),
      base("2026-12-05T03:00:00Z", 0x06),
    ];
    for (const b of bases) {
      const keys = baseKeys(b.id);
      const stored = await writeStored(store, keys.data, [bytes]);
      const manifest: BaseBackupManifest = {
        formatVersion: 1,
        id: b.id,
        startedAt: b.stoppedAt,
        stoppedAt: b.stoppedAt,
        timeline: 1,
        startLsn: `0/${(parseInt(b.startWal.slice(16), 16) * SIZE + 0x28).toString(16)}`,
        stopLsn: `0/${(parseInt(b.startWal.slice(16), 16) * SIZE + 0x100).toString(16)}`,
        startWal: b.startWal,
        stopWal: b.startWal,
        walSegmentSize: SIZE,
        serverVersionNum: 150004,
        systemIdentifier: "7312345678901234567",
        stored,
      };
      await writeManifest(store, keys.manifest, manifest);
    }
    const names = [
      "00000002.history",
      ...[1, 2, 3, 4, 5, 6, 7].map((n) => seg(1, n)),
      `${seg(1, 2)}.00000028.backup`,
      `${seg(1, 3)}.partial`,
      `${seg(1, 4)}.00000028.backup`,
      `${seg(1, 6)}.00000028.backup`,
    ];
    const source = join(dir, "source");
    for (const name of names) {
      await Deno.writeFile(source, new TextEncoder().encode(`contents of ${name}\n`));
      await pushWal(store, source, name, { now: NOW });
    }

    const prune = archiveToPrune(await listBaseBackups(store), await archivedNames(store), NOW, 7);
    assert.deepEqual(prune, {
      bases: [bases[0].id],
      wal: [seg(1, 1), seg(1, 2), `${seg(1, 2)}.00000028.backup`, seg(1, 3), `${seg(1, 3)}.partial`]
        .sort(),
    });
    await pruneArchive(store, prune);

    const keysOf = (ids: string[], wal: string[]) =>
      [
        ...ids.flatMap((id) => Object.values(baseKeys(id))),
        ...wal.flatMap((name) => Object.values(walKeys(name))),
      ].sort();
    const kept = names.filter((n) => !prune.wal.includes(n));
    const expected = keysOf([bases[1].id, bases[2].id], kept);
    assert.deepEqual((await store.list()).map((e) => e.key).sort(), expected);
    // on disk too: nothing half-removed, no temporary left
    const files: string[] = [];
    for await (const entry of Deno.readDir(join(dir, "pitr"))) files.push(entry.name);
    assert.deepEqual(files.sort(), expected);
    assert.deepEqual((await listBaseBackups(store)).map((b) => b.id), [bases[1].id, bases[2].id]);
    assert.deepEqual(await archivedNames(store), [...kept].sort());
    // a second pass has nothing left to do
    assert.deepEqual(
      archiveToPrune(await listBaseBackups(store), await archivedNames(store), NOW, 7),
      { bases: [], wal: [] },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
