/**
 * Files beside the database, end to end through the command line: a backup holds the database
 * and the files at the same moment; a restore puts back exact bytes, modes, mtimes and links,
 * with a pre-restore backup of what it replaces; `--files --to DIR`, `--no-files`, dry runs;
 * verify finds a damaged files part; an encrypted store; a large file in flat memory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock, runCli, SCRIPT_PATH } from "../helpers/cli.ts";
import { ageKeygen } from "../helpers/s3_cli.ts";
import { ENV_SETTINGS } from "../../src/config/environment.ts";
import { countRows, execSql, listNames, makeDatabase } from "../helpers/workspace.ts";
import { withWorkspace, type Workspace } from "../helpers/workspace.ts";
import { ExitCode } from "../../src/core/errors.ts";

async function makeFiles(ws: Workspace): Promise<void> {
  const at = (p: string) => join(ws.root, p);
  await Deno.mkdir(at("uploads/avatars"), { recursive: true });
  await Deno.mkdir(at("config"));
  await Deno.writeTextFile(at("uploads/avatars/1.png"), "png-one");
  await Deno.writeFile(at("uploads/blob.bin"), crypto.getRandomValues(new Uint8Array(50_000)));
  await Deno.symlink("avatars/1.png", at("uploads/latest.png"));
  await Deno.writeTextFile(at("config/app.json"), '{"feature": true}');
  await Deno.writeTextFile(at("config/secrets.txt"), "not matched by the pattern");
  await Deno.chmod(at("uploads/avatars/1.png"), 0o600);
  await Deno.utime(at("config/app.json"), 1_700_000_000.5, 1_700_000_000.5);
}

async function writeConfig(ws: Workspace, extra: Record<string, unknown> = {}): Promise<void> {
  await Deno.writeTextFile(
    join(ws.root, "backup-manager.json"),
    JSON.stringify({
      database: "./app.db",
      backupDir: "./backups",
      files: ["./uploads", "./config/*.json"],
      ...extra,
    }),
  );
}

async function fingerprint(path: string) {
  const info = await Deno.lstat(path);
  return {
    mode: info.mode! & 0o7777,
    mtime: info.isSymlink ? 0 : info.mtime!.getTime(),
    content: info.isSymlink
      ? `-> ${await Deno.readLink(path)}`
      : info.isFile
      ? new TextDecoder().decode(await Deno.readFile(path))
      : "dir",
  };
}

const TRACKED = [
  "uploads/avatars/1.png",
  "uploads/blob.bin",
  "uploads/latest.png",
  "config/app.json",
];

async function snapshot(root: string) {
  const out: Record<string, unknown> = {};
  for (const p of TRACKED) out[p] = await fingerprint(join(root, p));
  return out;
}

Deno.test("files beside the database: restored to the same moment, replaced ones kept in the pre-restore backup", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await makeFiles(ws);
    await writeConfig(ws);
    const clock = new FakeClock();
    const run = (args: string[]) => runCli(args, { cwd: ws.root, clock });
    const original = await snapshot(ws.root);

    const created = await run(["create", "--format", "json"]);
    assert.equal(created.code, 0, created.stderr);
    const id = JSON.parse(created.stdout).id;
    const names = await listNames(ws.dir);
    assert.ok(names.includes(`${id}.files.tar.gz`), names.join());
    assert.equal((await Deno.stat(join(ws.dir, `${id}.files.tar.gz`))).mode! & 0o777, 0o600);
    const listing = new TextDecoder().decode(
      (await new Deno.Command("tar", {
        args: ["-tzf", join(ws.dir, `${id}.files.tar.gz`)],
        stdout: "piped",
      }).output()).stdout,
    );
    assert.ok(listing.includes("config/app.json"), listing);
    assert.ok(!listing.includes("secrets.txt"), "only what the pattern matches");

    // the application moves on: rows, files changed, removed, added
    clock.advance();
    execSql(ws.database, "DELETE FROM accounts");
    await Deno.writeTextFile(join(ws.root, "uploads/avatars/1.png"), "png-two");
    await Deno.remove(join(ws.root, "uploads/blob.bin"));
    await Deno.remove(join(ws.root, "uploads/latest.png"));
    await Deno.symlink("/etc/hostname", join(ws.root, "uploads/latest.png"));
    await Deno.writeTextFile(join(ws.root, "uploads/new.txt"), "after the backup");

    const dry = await run(["restore", id, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /replace +file +uploads\/avatars\/1\.png/);
    assert.match(dry.stdout, /create +file +uploads\/blob\.bin/);
    assert.equal(
      await Deno.readTextFile(join(ws.root, "uploads/avatars/1.png")),
      "png-two",
      "a dry run writes nothing",
    );

    const refused = await run(["restore", id]);
    assert.equal(refused.code, ExitCode.Refused, "replacing files needs --force or a yes");

    const restored = await run(["restore", id, "--force"]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await snapshot(ws.root), original);
    assert.equal(countRows(ws.database, "accounts"), 3);
    assert.equal(
      await Deno.readTextFile(join(ws.root, "uploads/new.txt")),
      "after the backup",
      "files the backup does not hold are left alone",
    );
    const leftovers = [];
    for await (const e of Deno.readDir(join(ws.root, "uploads"))) leftovers.push(e.name);
    assert.deepEqual(
      leftovers.sort(),
      ["avatars", "blob.bin", "latest.png", "new.txt"],
      "no temporaries left",
    );

    // the pre-restore backup holds the files as they were before the restore
    const safety = (await listNames(ws.dir)).find((n) =>
      n.startsWith("pre-restore_") && n.endsWith(".files.tar.gz")
    );
    assert.ok(safety, (await listNames(ws.dir)).join());
    const out = join(ws.root, "safety");
    await Deno.mkdir(out);
    const tar = await new Deno.Command("tar", {
      args: ["-xzf", join(ws.dir, safety), "-C", out],
    }).output();
    assert.equal(tar.code, 0);
    assert.equal(await Deno.readTextFile(join(out, "uploads/avatars/1.png")), "png-two");
    assert.equal(await Deno.readLink(join(out, "uploads/latest.png")), "/etc/hostname");
  });
});

Deno.test("restore --files --to DIR restores only the files there; --no-files only the database", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await makeFiles(ws);
    await writeConfig(ws);
    const clock = new FakeClock();
    const run = (args: string[]) => runCli(args, { cwd: ws.root, clock });
    const original = await snapshot(ws.root);
    const id = JSON.parse((await run(["create", "--format", "json"])).stdout).id;
    clock.advance();
    execSql(ws.database, "DELETE FROM accounts");
    await Deno.writeTextFile(join(ws.root, "uploads/avatars/1.png"), "png-two");

    const elsewhere = join(ws.root, "restored-files");
    const only = await run(["restore", id, "--files", "--to", elsewhere]);
    assert.equal(only.code, 0, only.stderr);
    assert.deepEqual(await snapshot(elsewhere), original);
    assert.equal(countRows(ws.database, "accounts"), 0, "--files leaves the database alone");
    assert.equal(await Deno.readTextFile(join(ws.root, "uploads/avatars/1.png")), "png-two");

    const db = await run(["restore", id, "--no-files", "--force"]);
    assert.equal(db.code, 0, db.stderr);
    assert.equal(countRows(ws.database, "accounts"), 3);
    assert.equal(
      await Deno.readTextFile(join(ws.root, "uploads/avatars/1.png")),
      "png-two",
      "--no-files leaves the files alone",
    );
  });
});

Deno.test("create --files refuses a pattern that matches nothing, and verify finds a damaged files part", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await makeFiles(ws);
    await writeConfig(ws);
    const run = (args: string[]) => runCli(args, { cwd: ws.root });
    const none = await run(["create", "--files", "./nowhere/*.json"]);
    assert.equal(none.code, ExitCode.Usage, none.stderr);
    assert.match(none.stderr, /^Error: Cannot back up the files "\.\/nowhere\/\*\.json": /);
    assert.deepEqual(await listNames(ws.dir).catch(() => []), []);

    const created = await run(["create", "--format", "json"]);
    const id = JSON.parse(created.stdout).id;
    assert.equal((await run(["verify", id])).code, 0);
    const part = join(ws.dir, `${id}.files.tar.gz`);
    const bytes = await Deno.readFile(part);
    bytes[bytes.length >> 1] ^= 0x55;
    await Deno.writeFile(part, bytes);
    const verify = await run(["verify", id]);
    assert.equal(verify.code, ExitCode.Integrity, verify.stdout);
    assert.match(verify.stdout, /FAIL .*files/);
    const restore = await run(["restore", id, "--force"]);
    assert.equal(restore.code, ExitCode.Integrity, restore.stderr);
  });
});

Deno.test("files in an encrypted store: the part is age-encrypted and restores with the identity", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await makeFiles(ws);
    const key = await ageKeygen(ws.root);
    await writeConfig(ws, {
      encryption: { recipients: [key.recipient], identityFile: key.identityFile },
    });
    const original = await snapshot(ws.root);
    const run = (args: string[]) => runCli(args, { cwd: ws.root });
    const id = JSON.parse((await run(["create", "--format", "json"])).stdout).id;
    const part = (await listNames(ws.dir)).find((n) => n.startsWith(id) && n.includes(".files."));
    assert.ok(part?.endsWith(".age"), part);
    const head = new TextDecoder().decode((await Deno.readFile(join(ws.dir, part!))).slice(0, 21));
    assert.equal(head, "age-encryption.org/v1");
    const elsewhere = join(ws.root, "out");
    const restored = await run(["restore", id, "--files", "--to", elsewhere]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await snapshot(elsewhere), original);
  });
});

Deno.test("a 300 MB file is backed up and restored in flat memory", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.mkdir(join(ws.root, "uploads"));
    const big = join(ws.root, "uploads/video.bin");
    const file = await Deno.open(big, { write: true, create: true });
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 300; i++) {
      crypto.getRandomValues(chunk.subarray(0, 65536)); // partly random: gzip has work to do
      await file.write(chunk);
    }
    file.close();
    await Deno.writeTextFile(
      join(ws.root, "backup-manager.json"),
      JSON.stringify({
        database: "./app.db",
        backupDir: "./backups",
        files: ["./uploads"],
        compression: "gzip:1",
      }),
    );
    const rss = async (args: string[]) => {
      const env = Deno.env.toObject();
      for (const name of Object.keys(ENV_SETTINGS)) delete env[name];
      const output = await new Deno.Command("/usr/bin/time", {
        args: ["-f", "rss %M", Deno.execPath(), "run", "-A", SCRIPT_PATH, ...args],
        env: { ...env, RUST_BACKTRACE: "0", NO_COLOR: "1" },
        clearEnv: true,
        cwd: ws.root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const kb = /rss (\d+)\n$/.exec(stderr);
      assert.ok(kb, stderr);
      return Number(kb[1]);
    };
    const createKb = await rss(["create"]);
    const restoreKb = await rss(["restore", "full", "--files", "--to", join(ws.root, "out")]);
    const sum = async (p: string) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(p)));
    assert.deepEqual(await sum(join(ws.root, "out/uploads/video.bin")), await sum(big));
    // a buffered copy of the file alone would be 300 MB: stay well under
    assert.ok(createKb < 220 * 1024, `create peaked at ${createKb} KiB`);
    assert.ok(restoreKb < 220 * 1024, `restore peaked at ${restoreKb} KiB`);
  });
});
