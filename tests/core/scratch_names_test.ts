/** Scratch names: made and parsed back (table-driven), and the staleness of their owners. */
import assert from "node:assert/strict";
import {
  databaseHost,
  fileHost,
  FOREIGN_SCRATCH_STALE_AFTER_MS,
  parseScratchDatabaseName,
  parseScratchDirectoryName,
  parseScratchFileName,
  scratchDatabaseName,
  scratchDirectoryName,
  scratchFileName,
  scratchStaleness,
} from "../../src/core/scratch_names.ts";

const START = new Date("2026-11-23T10:15:00.123Z");
const OWNER = { host: fileHost("db1.example.com"), pid: 4242, startedAt: START };

Deno.test("scratchFileName() names the target, kind, host, pid and start in milliseconds", () => {
  assert.equal(
    scratchFileName("app.db", "restore", OWNER),
    ".app.db.bm-restore.db1_example_com.4242.1795428900123",
  );
});

Deno.test("parseScratchFileName() reads back what it made, companions too, nothing else", () => {
  const cases: [string, ReturnType<typeof parseScratchFileName>][] = [
    [
      ".app.db.bm-restore.db1_example_com.4242.1795428900123",
      { target: "app.db", kind: "restore", owner: OWNER },
    ],
    [
      ".app.db.bm-restore.db1_example_com.4242.1795428900123-wal",
      { target: "app.db", kind: "restore", owner: OWNER },
    ],
    [
      ".my.bm-restore.x.db.bm-verify.h.1.2-journal",
      {
        target: "my.bm-restore.x.db",
        kind: "verify",
        owner: { host: "h", pid: 1, startedAt: new Date(2) },
      },
    ],
    ["app.db.bm-restore.h.1.2", undefined], // not hidden
    [".app.db.bm-restore.h.1.2-other", undefined],
    [".app.db.bm-other.h.1.2", undefined],
    [".app.db.bm-restore.h.x.2", undefined],
    [".app.db.restoring-1a2b3c4d", undefined], // the old name: no owner
    [".app.db.bm-restore.host.with.dots.1.2", undefined], // hosts are written without dots
  ];
  for (const [name, expected] of cases) {
    assert.deepEqual(parseScratchFileName(name), expected, name);
  }
});

Deno.test("scratch directory names read back; Deno's random suffix is allowed", () => {
  const made = scratchDirectoryName("verify", OWNER) + "a1B2c3";
  assert.equal(made, "bm-verify.db1_example_com.4242.1795428900123.a1B2c3");
  assert.deepEqual(parseScratchDirectoryName(made), { kind: "verify", owner: OWNER });
  assert.equal(parseScratchDirectoryName("backup-manager-scratch-a1b2"), undefined);
  assert.equal(parseScratchDirectoryName("bm-verify.h.1"), undefined);
});

Deno.test("scratchDatabaseName() fits PostgreSQL's 63 bytes and reads back to the second", () => {
  const host = databaseHost("a-very-long-host-name.".repeat(10));
  const owner = { host, pid: 4_194_304, startedAt: START };
  const name = scratchDatabaseName("load", owner);
  assert.ok(name.length <= 63, name);
  assert.match(name, /^bm_load_[0-9a-f]{8}_4194304_1795428900_[0-9a-f]{8}$/);
  const cases: [string, ReturnType<typeof parseScratchDatabaseName>][] = [
    [name, { kind: "load", owner: { ...owner, startedAt: new Date(1795428900_000) } }],
    [
      "bm_scratch_0123abcd_7_100_zz9",
      { kind: "scratch", owner: { host: "0123abcd", pid: 7, startedAt: new Date(100_000) } },
    ],
    ["bm_load_0123ABCD_7_100_zz9", undefined],
    ["bm_load_0123abcd_7_100_", undefined],
    ["backup_manager_load_0123456789abcdef", undefined],
    ["app", undefined],
  ];
  for (const [value, expected] of cases) {
    assert.deepEqual(parseScratchDatabaseName(value), expected, value);
  }
});

Deno.test("scratchStaleness() keeps live owners' scratch and ages other hosts' out", () => {
  const now = new Date(START.getTime() + 2 * 60 * 60 * 1000);
  const alive = new Set([10]);
  const liveness = { host: "here", processAlive: (pid: number) => alive.has(pid), now };
  const cases: [string, { host: string; pid: number; startedAt: Date }, string | undefined][] = [
    ["a live process of this host", { host: "here", pid: 10, startedAt: new Date(0) }, undefined],
    [
      "a dead process of this host",
      { host: "here", pid: 11, startedAt: now },
      "process 11 is gone",
    ],
    ["another host, young", { host: "there", pid: 11, startedAt: START }, undefined],
    [
      "another host, exactly at the limit",
      {
        host: "there",
        pid: 11,
        startedAt: new Date(now.getTime() - FOREIGN_SCRATCH_STALE_AFTER_MS),
      },
      undefined,
    ],
    [
      "another host, past the limit",
      {
        host: "there",
        pid: 10,
        startedAt: new Date(now.getTime() - FOREIGN_SCRATCH_STALE_AFTER_MS - 1),
      },
      "made on another host over 24 h ago",
    ],
  ];
  for (const [what, owner, expected] of cases) {
    assert.equal(scratchStaleness(owner, liveness), expected, what);
  }
});
