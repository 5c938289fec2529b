import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import type { BackupMeta } from "../../src/core/backup_file.ts";
import { IntegrityError } from "../../src/core/errors.ts";
import { keyIdOf, SignatureError, signMeta, type TrustedKey } from "../../src/core/signing.ts";
import { admitBackup, trustProblem } from "../../src/core/trust.ts";

const ours = generateKeyPairSync("ed25519");
const theirs = generateKeyPairSync("ed25519");
const trusted: TrustedKey[] = [{ keyId: keyIdOf(ours.publicKey), key: ours.publicKey }];

function backup(engine: "sqlite" | "postgres", signer?: typeof ours): BackupMeta {
  const meta = {
    id: "full_20261123T101500000Z",
    engine,
    file: { name: "full_20261123T101500000Z.sql.gz", sha256: "a".repeat(64) },
  } as unknown as BackupMeta;
  return signer ? { ...meta, signature: signMeta(meta, signer.privateKey) } : meta;
}

const sqlite = { engine: { kind: "sqlite" as const } } as Parameters<typeof admitBackup>[0];
const withKeys = { ...sqlite, signing: { trusted } };

const CASES: [
  string,
  Parameters<typeof admitBackup>[0],
  BackupMeta,
  boolean,
  RegExp | string | undefined,
][] = [
  ["an unsigned backup without trusted keys", sqlite, backup("sqlite"), true, undefined],
  [
    "a backup signed by a trusted key",
    withKeys,
    backup("sqlite", ours),
    true,
    keyIdOf(ours.publicKey),
  ],
  ["an unsigned backup with trusted keys", withKeys, backup("sqlite"), true, /it is not signed/],
  [
    "a backup signed by another key",
    withKeys,
    backup("sqlite", theirs),
    true,
    /which is not in signing\.trusted/,
  ],
  [
    "the other engine's backup, restoring",
    sqlite,
    backup("postgres"),
    true,
    /a PostgreSQL backup cannot restore into SQLite/,
  ],
  ["the other engine's backup, only verifying", sqlite, backup("postgres"), false, undefined],
];

for (const [name, context, meta, restoring, expected] of CASES) {
  Deno.test(`admitBackup(): ${name}`, () => {
    if (expected instanceof RegExp) {
      assert.throws(
        () => admitBackup(context, meta, "restore", restoring),
        (error) => error instanceof IntegrityError && expected.test(error.message),
      );
    } else assert.equal(admitBackup(context, meta, "restore", restoring), expected);
  });
}

Deno.test("trustProblem() is restore's refusal for listings, or undefined", () => {
  assert.equal(trustProblem(backup("sqlite"), []), undefined);
  assert.equal(trustProblem(undefined, trusted), undefined);
  assert.equal(trustProblem(backup("sqlite", ours), trusted), undefined);
  assert.match(
    trustProblem(backup("sqlite"), trusted)!,
    /^Cannot use backup "full_.+": it is not signed/,
  );
  assert.throws(() => admitBackup(withKeys, backup("sqlite"), "restore"), SignatureError);
});
