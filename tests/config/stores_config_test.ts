import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load_config.ts";
import { UsageError } from "../../src/core/errors.ts";
import { lockDirectoryFor, openStorage } from "../../src/storage/open_storage.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { LazyS3Storage } from "../../src/storage/_lazy_s3.ts";
import { withWorkspace } from "../helpers/workspace.ts";

async function inDir<T>(file: unknown, fn: (root: string) => T): Promise<T> {
  return await withWorkspace(async (ws) => {
    await Deno.writeTextFile(join(ws.root, "backup-manager.json"), JSON.stringify(file));
    return fn(ws.root);
  });
}

Deno.test("loadConfig() keeps an s3:// backupDir as it is and resolves local copies next to the file", async () => {
  await inDir({
    backupDir: "s3://acme-backups/db-1",
    copies: [{ url: "./usb" }, {
      url: "s3://acme-backups/db-1-offsite",
      retention: { keepDays: 30 },
    }],
    encryption: { recipients: ["age1xyz"], identityFile: "keys/backup.txt" },
    s3: { endpoint: "http://127.0.0.1:7480", storageClass: "STANDARD_IA" },
  }, (root) => {
    const config = loadConfig({ cwd: root });
    assert.equal(config.backupDir, "s3://acme-backups/db-1");
    assert.deepEqual(config.copies, [
      { url: join(root, "usb") },
      { url: "s3://acme-backups/db-1-offsite", retention: { keepDays: 30 } },
    ]);
    assert.deepEqual(config.encryption, {
      recipients: ["age1xyz"],
      identityFile: join(root, "keys/backup.txt"),
    });
    assert.deepEqual(config.s3, { endpoint: "http://127.0.0.1:7480", storageClass: "STANDARD_IA" });
  });
});

Deno.test("loadConfig() takes recipients, the identity file and the endpoint from the environment", () => {
  const config = loadConfig({
    cwd: "/nonexistent",
    env: {
      BACKUP_AGE_RECIPIENTS: "age1aaa, age1bbb",
      BACKUP_AGE_IDENTITY_FILE: "/etc/backup/key.txt",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9000",
    },
  });
  assert.deepEqual(config.encryption, {
    recipients: ["age1aaa", "age1bbb"],
    identityFile: "/etc/backup/key.txt",
  });
  assert.equal(config.s3.endpoint, "http://127.0.0.1:9000");
});

const mistakes: { name: string; file: unknown; message: RegExp }[] = [
  {
    name: "a bucket name that S3 refuses",
    file: { backupDir: "s3://ab" },
    message:
      /^Invalid value "s3:\/\/ab" for "backupDir" in .+: expected a directory or "s3:\/\/BUCKET\[\/PREFIX\]"/,
  },
  {
    name: "a copy without a url",
    file: { copies: [{ retention: { keepLast: 1 } }] },
    message: /^Missing setting "copies\[0\]\.url"/,
  },
  {
    name: "an unknown server-side encryption",
    file: { s3: { serverSideEncryption: "rot13" } },
    message:
      /^Invalid value "rot13" for "s3\.serverSideEncryption" in .+: expected "AES256" or "aws:kms"$/,
  },
  {
    name: "a typo in the s3 section",
    file: { s3: { endpont: "http://x" } },
    message: /^Unknown setting "s3\.endpont" in .+ \(did you mean "s3\.endpoint"\?\)$/,
  },
];

for (const m of mistakes) {
  Deno.test(`loadConfig() explains ${m.name} in one line`, async () => {
    await inDir(m.file, (root) => {
      assert.throws(() => loadConfig({ cwd: root }), (error: Error) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match(error.message, m.message);
        return true;
      });
    });
  });
}

Deno.test("openStorage() opens a directory or a bucket, and locks a bucket on this machine", () => {
  assert.ok(openStorage("./backups") instanceof LocalStorage);
  const s3 = openStorage("s3://acme-backups/db-1/", { env: {} });
  assert.ok(s3 instanceof LazyS3Storage); // the SDK loads on first use
  assert.equal(s3.location, "s3://acme-backups/db-1");
  assert.throws(() => openStorage("s3://Bad_Bucket/x"), UsageError);
  assert.throws(
    () => openStorage("s3://acme-backups", { s3: { serverSideEncryption: "rot13" } }),
    UsageError,
  );
  assert.equal(lockDirectoryFor("./backups", {}), "./backups");
  const lock = lockDirectoryFor("s3://acme-backups/db-1", { HOME: "/home/ops" });
  assert.match(lock, /^\/home\/ops\/\.local\/state\/backup-manager\/locks\/[0-9a-f]{16}$/);
  assert.equal(lockDirectoryFor("s3://acme-backups/db-1/", { HOME: "/home/ops" }), lock);
  assert.notEqual(lockDirectoryFor("s3://acme-backups/db-2", { HOME: "/home/ops" }), lock);
});
