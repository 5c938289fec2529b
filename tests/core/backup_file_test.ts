import assert from "node:assert/strict";
import {
  backupId,
  dataKey,
  dataKeys,
  encryptedDataKey,
  idOfDataKey,
  parseBackupId,
  parseMeta,
  serializeMeta,
  type UnsealedMeta,
} from "../../src/core/backup_file.ts";
import { IntegrityError } from "../../src/core/errors.ts";

Deno.test("backupId() encodes type and UTC time to the millisecond", () => {
  assert.equal(backupId("full", new Date("2026-11-23T10:15:00.123Z")), "full_20261123T101500123Z");
  assert.equal(
    backupId("pre-restore", new Date("2026-01-02T03:04:05.006Z")),
    "pre-restore_20260102T030405006Z",
  );
});

Deno.test("parseBackupId() reverses backupId() and rejects other names", () => {
  const at = new Date("2026-11-23T10:15:00.123Z");
  assert.deepEqual(parseBackupId(backupId("schema", at)), { type: "schema", createdAt: at });
  for (
    const name of [
      "full_2026",
      "other_20261123T101500123Z",
      "full_20261123T101500123Z.sql.gz",
      "full_20261399T101500123Z",
    ]
  ) {
    assert.equal(parseBackupId(name), undefined, name);
  }
});

function sampleMeta(): UnsealedMeta {
  const id = "full_20261123T101500123Z";
  return {
    formatVersion: 1,
    id,
    type: "full",
    engine: "sqlite",
    database: { name: "app.db", path: "/srv/app.db" },
    createdAt: "2026-11-23T10:15:00.123Z",
    finishedAt: "2026-11-23T10:15:01.123Z",
    durationMs: 1000,
    tool: { name: "backup-manager", version: "0.1.0" },
    engineVersion: "3.53.2",
    runtime: "deno 2.9.6",
    settings: { user_version: 3 },
    tables: [{ name: "t", rows: 2, bytes: 40 }],
    totals: { tables: 1, rows: 2 },
    sizes: { raw: 100, compressed: 80 },
    file: { name: `${id}.sql.gz`, compression: "gzip", sha256: "a".repeat(64) },
  };
}

Deno.test("serializeMeta() output parses back to the same sidecar", () => {
  const meta = sampleMeta();
  const parsed = parseMeta(serializeMeta(meta), meta.id);
  const { sidecarSha256, ...rest } = parsed;
  assert.match(sidecarSha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(rest, meta);
});

const broken: [string, (text: string) => string, string][] = [
  [
    "an edited row count",
    (t) => t.replace('"rows": 2', '"rows": 3'),
    "was edited after it was written",
  ],
  [
    "an edited description",
    (t) => t.replace('"engine": "sqlite",', '"engine": "sqlite",\n  "description": "x",'),
    "was edited after it was written",
  ],
  ["invalid JSON", (t) => t.slice(0, 20), "is not valid JSON"],
  [
    "a missing field",
    (t) => t.replace(/\s*"engineVersion": "3.53.2",/, ""),
    'field "engineVersion"',
  ],
  ["a bad checksum format", (t) => t.replace("a".repeat(64), "xyz"), 'field "file.sha256"'],
];

for (const [what, edit, message] of broken) {
  Deno.test(`parseMeta() rejects a sidecar with ${what}`, () => {
    const text = new TextDecoder().decode(serializeMeta(sampleMeta()));
    assert.throws(
      () => parseMeta(new TextEncoder().encode(edit(text)), "full_20261123T101500123Z"),
      (error) => error instanceof IntegrityError && error.message.includes(message),
    );
  });
}

Deno.test("parseMeta() rejects a sidecar that describes another backup", () => {
  assert.throws(
    () => parseMeta(serializeMeta(sampleMeta()), "full_20261124T101500123Z"),
    (error) =>
      error instanceof IntegrityError &&
      error.message ===
        'Backup "full_20261124T101500123Z" has a sidecar that describes another backup',
  );
});

Deno.test("dataKey() and encryptedDataKey() name the file of each compression; gzip by default", () => {
  const id = "full_20261123T101500123Z";
  assert.deepEqual(
    [dataKey(id), dataKey(id, "gzip"), dataKey(id, "zstd"), dataKey(id, "none")],
    [`${id}.sql.gz`, `${id}.sql.gz`, `${id}.sql.zst`, `${id}.sql`],
  );
  assert.deepEqual(
    [encryptedDataKey(id), encryptedDataKey(id, "zstd"), encryptedDataKey(id, "none")],
    [`${id}.sql.gz.age`, `${id}.sql.zst.age`, `${id}.sql.age`],
  );
  assert.deepEqual(dataKeys(id).sort(), [
    `${id}.sql`,
    `${id}.sql.age`,
    `${id}.sql.gz`,
    `${id}.sql.gz.age`,
    `${id}.sql.zst`,
    `${id}.sql.zst.age`,
  ]);
});

const dataKeyIds: [string, string | undefined][] = [
  ["full_20261123T101500123Z.sql.gz", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.sql.gz.age", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.sql.zst", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.sql.zst.age", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.sql", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.sql.age", "full_20261123T101500123Z"],
  ["full_20261123T101500123Z.meta.json", undefined],
  ["full_20261123T101500123Z.sql.gz.partial", undefined],
  ["audit.jsonl", undefined],
];

for (const [key, id] of dataKeyIds) {
  Deno.test(`idOfDataKey() reads "${key}" as ${id ? `"${id}"` : "no data file"}`, () => {
    assert.equal(idOfDataKey(key), id);
  });
}

Deno.test("parseMeta() reads a zstd sidecar naming the .sql.zst file, and its level", () => {
  const meta = sampleMeta();
  meta.file = {
    name: `${meta.id}.sql.zst`,
    compression: "zstd",
    compressionLevel: 3,
    sha256: "a".repeat(64),
  };
  const parsed = parseMeta(serializeMeta(meta), meta.id);
  assert.equal(parsed.file.compression, "zstd");
  assert.equal(parsed.file.compressionLevel, 3);
});

Deno.test("parseMeta() reads a sidecar without file.compression as gzip", () => {
  const { file: { compression: _, ...file }, ...rest } = sampleMeta();
  const parsed = parseMeta(serializeMeta({ ...rest, file } as UnsealedMeta), rest.id);
  assert.equal(parsed.file.compression, "gzip");
  assert.equal(parsed.file.compressionLevel, undefined);
});

Deno.test("parseMeta() rejects a sidecar whose compression does not match its file name", () => {
  const meta = sampleMeta();
  meta.file = { ...meta.file, compression: "zstd" };
  assert.throws(
    () => parseMeta(serializeMeta(meta), meta.id),
    (error) =>
      error instanceof IntegrityError &&
      error.message ===
        'Backup "full_20261123T101500123Z" has a sidecar that describes another backup',
  );
});

Deno.test("parseMeta() rejects an unknown compression", () => {
  const text = new TextDecoder().decode(serializeMeta(sampleMeta()))
    .replace('"compression": "gzip"', '"compression": "brotli"');
  assert.throws(
    () => parseMeta(new TextEncoder().encode(text), "full_20261123T101500123Z"),
    (error) =>
      error instanceof IntegrityError && error.message.includes('field "file.compression"'),
  );
});
