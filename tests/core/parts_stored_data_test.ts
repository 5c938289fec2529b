import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local.ts";
import { SqliteEngine } from "../../src/engines/sqlite/sqlite_engine.ts";
import type { ServiceContext } from "../../src/core/context.ts";
import { storedFiles } from "../../src/core/backup_file.ts";
import { IntegrityError } from "../../src/core/errors.ts";
import { Decompressor } from "../../src/core/decompressor.ts";
import { readCheckedFile, readCompressedFile } from "../../src/core/stored_data.ts";
import { FakeClock } from "../helpers/cli.ts";
import { ageKeygen } from "../helpers/s3_cli.ts";
import { createPartsBackup } from "../helpers/parts_backup.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

function contextOf(ws: Workspace, extra: Partial<ServiceContext> = {}): ServiceContext {
  return {
    storage: new LocalStorage(ws.dir),
    engine: new SqliteEngine(),
    database: ws.database,
    clock: new FakeClock(),
    ...extra,
  };
}

/** A main file plus parts `a` and `b` (other SQLite databases) and a `files` part. */
async function threeParts(ws: Workspace, context: ServiceContext) {
  makeDatabase(ws.database);
  makeDatabase(join(ws.root, "a.db"), { accounts: 10 });
  makeDatabase(join(ws.root, "b.db"), { accounts: 20 });
  return await createPartsBackup(context, {
    databases: { a: join(ws.root, "a.db"), b: join(ws.root, "b.db") },
    files: { bytes: new TextEncoder().encode("not really a tar"), entries: 1 },
  });
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  for await (const chunk of stream) size += chunk.length;
  return size;
}

async function decompressed(stream: AsyncIterable<Uint8Array>, format: "gzip"): Promise<string> {
  const decompressor = new Decompressor({ format });
  const chunks: Uint8Array[] = [];
  decompressor.on("data", (chunk: Uint8Array) => chunks.push(new Uint8Array(chunk)));
  const ended = new Promise((resolve, reject) => {
    decompressor.on("end", resolve);
    decompressor.on("error", reject);
  });
  for await (const chunk of stream) decompressor.write(chunk);
  decompressor.end();
  await ended;
  return new TextDecoder().decode(
    new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer()),
  );
}

Deno.test("readCheckedFile() reads every file of a multi-part backup against its own entry", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await threeParts(ws, context);
    const files = storedFiles(meta);
    assert.deepEqual(files.map((f) => f.file.name), [
      `${meta.id}.sql.gz`,
      `${meta.id}.db-a.sql.gz`,
      `${meta.id}.db-b.sql.gz`,
      `${meta.id}.files.tar.gz`,
    ]);
    for (const entry of files) {
      assert.equal(
        await drain(await readCheckedFile(context.storage, meta, entry, "verify")),
        entry.size,
      );
    }
    const sql = await decompressed(
      await readCompressedFile(context.storage, meta, files[1], undefined, "verify"),
      "gzip",
    );
    assert.match(sql, /^-- backup-manager SQLite dump\n/);
    assert.match(sql, /account 9/);
  });
});

Deno.test("readCheckedFile() names a missing part's file", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await threeParts(ws, context);
    const part = storedFiles(meta)[2];
    await Deno.remove(join(ws.dir, part.file.name));
    await assert.rejects(
      () => readCheckedFile(context.storage, meta, part, "verify"),
      (error) => {
        assert.ok(error instanceof IntegrityError);
        assert.equal(
          error.message,
          `Cannot verify backup "${meta.id}": its data file "${meta.id}.db-b.sql.gz" is missing; restore another backup`,
        );
        return true;
      },
    );
  });
});

/** Damage of one part, and what the error says after `its data file "<the part's key>"`. */
const DAMAGES: [string, (dir: string, keys: string[]) => Promise<void>, RegExp][] = [
  [
    "cut short",
    async (dir, keys) => {
      const bytes = await Deno.readFile(join(dir, keys[1]));
      await Deno.writeFile(join(dir, keys[1]), bytes.subarray(0, bytes.length - 4));
    },
    /is truncated \(\d+ of \d+ bytes\); an upload or copy stopped early/,
  ],
  [
    "swapped with the other part",
    async (dir, keys) => {
      await Deno.rename(join(dir, keys[1]), join(dir, "tmp"));
      await Deno.rename(join(dir, keys[2]), join(dir, keys[1]));
      await Deno.rename(join(dir, "tmp"), join(dir, keys[2]));
    },
    /holds the data of "full_\d{8}T\d{9}Z\.db-b\.sql\.gz" \(files swapped\)/,
  ],
  [
    "with bytes appended",
    async (dir, keys) => {
      const bytes = await Deno.readFile(join(dir, keys[1]));
      await Deno.writeFile(join(dir, keys[1]), new Uint8Array([...bytes, 1, 2]));
    },
    /has 2 bytes appended after its end/,
  ],
];

for (const [name, damage, says] of DAMAGES) {
  Deno.test(`readCheckedFile() of a part ${name} is an IntegrityError naming the part's file`, async () => {
    await withWorkspace(async (ws) => {
      const context = contextOf(ws);
      const meta = await threeParts(ws, context);
      const files = storedFiles(meta);
      await damage(ws.dir, files.map((f) => f.file.name));
      await assert.rejects(
        async () => await drain(await readCheckedFile(context.storage, meta, files[1], "verify")),
        (error) => {
          assert.ok(error instanceof IntegrityError);
          assert.ok(
            error.message.startsWith(
              `Cannot verify backup "${meta.id}": its data file "${meta.id}.db-a.sql.gz" `,
            ),
            error.message,
          );
          assert.match(error.message, says);
          return true;
        },
      );
      // the main file is untouched and still reads
      await drain(await readCheckedFile(context.storage, meta, files[0], "verify"));
    });
  });
}

Deno.test("readCheckedFile() does not take a files part's bytes for foreign SQL", async () => {
  await withWorkspace(async (ws) => {
    const context = contextOf(ws);
    const meta = await threeParts(ws, context);
    const files = storedFiles(meta);
    assert.equal(
      await drain(await readCheckedFile(context.storage, meta, files[3], "copy")),
      files[3].size,
    );
  });
});

Deno.test("readCompressedFile() decrypts an encrypted part, and says how to give the key without one", async () => {
  await withWorkspace(async (ws) => {
    const key = await ageKeygen(ws.root);
    const context = contextOf(ws, {
      encryption: { recipients: [key.recipient], identityFile: key.identityFile },
    });
    const meta = await threeParts(ws, context);
    const part = storedFiles(meta)[1];
    assert.equal(part.file.name, `${meta.id}.db-a.sql.gz.age`);
    assert.ok(part.file.encryption);
    const sql = await decompressed(
      await readCompressedFile(context.storage, meta, part, context.encryption, "verify"),
      "gzip",
    );
    assert.match(sql, /account 9/);
    await assert.rejects(
      () => readCompressedFile(context.storage, meta, part, undefined, "restore"),
      /^UsageError: Cannot restore backup "full_\d+T\d+Z": it is encrypted \(age, for .+\) and no identity file was given/,
    );
  });
});
