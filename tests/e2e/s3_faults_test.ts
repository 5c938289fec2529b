/**
 * S3 when things go wrong, against a real radosgw: the server killed in the middle of an upload,
 * a wrong secret, a missing bucket, a damaged object, a data object deleted under its sidecar.
 * Each is one clear line and the right exit code, nothing half-written lists as a backup, the
 * next run repairs what it can, and the secret key never appears anywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ExitCode } from "../../src/core/errors.ts";
import { FakeClock, runCli } from "../helpers/cli.ts";
import { execSql, makeLargeDatabase, sha256File, withWorkspace } from "../helpers/workspace.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { createIn, cuttingRelay, lines, s3Env, withBucket, withS3Run } from "../helpers/s3_cli.ts";

Deno.test("radosgw killed in the middle of a --copy-to upload: exit 7, a good local backup, nothing listed, and the next run copies both", async () => {
  const server = await startS3Server();
  try {
    await withBucket((bucket) =>
      withWorkspace(async (ws) => {
        makeLargeDatabase(ws.database); // about 22 MiB gzipped: three 8 MiB parts
        const clock = new FakeClock(new Date()); // S3 dates uploads by the real clock
        const url = bucket.url("offsite");
        // the relay kills radosgw once 10 MiB of the upload went through, then drops everything
        const relay = cuttingRelay(server.endpoint, 10 << 20, () => server.kill());
        let first: string;
        try {
          const env = { ...s3Env(server, ws.root), AWS_ENDPOINT_URL: relay.endpoint };
          const args = ["create", "--database", ws.database, "--dir", ws.dir, "--copy-to", url];
          const result = await runCli(args, { env, clock });
          await relay.cut;
          first = /^Created backup (\S+)\n/.exec(result.stdout)![1];
          assert.equal(result.code, ExitCode.Storage, result.stderr);
          const host = new URL(relay.endpoint).host;
          assert.deepEqual(lines(result.stderr), [
            `Error: Backup "${first}" was not copied to "${url}": Cannot write "${first}.sql.gz" to "${url}" at ${host}: cannot connect to ${host} (is the server running?) (the next run tries again)`,
          ]);
        } finally {
          relay.close();
        }
        const verified = await runCli(["verify", first, "--dir", ws.dir], { clock });
        assert.equal(verified.code, 0, verified.stdout);

        await server.restart(); // same port, same data
        const env = s3Env(server, ws.root);
        assert.deepEqual(await bucket.keys(), [], "no object was completed");
        // the sidecar is started (unseen) before the data, so both uploads are left open
        assert.deepEqual((await bucket.incompleteUploads()).sort(), [
          `offsite/${first}.meta.json`,
          `offsite/${first}.sql.gz`,
        ]);
        const listed = await runCli(["list", "--dir", url], { env, clock });
        assert.equal(listed.stdout, `No backups in "${url}" (create one with "create")\n`);

        clock.advance(20 * 60 * 1000);
        const second = await runCli(
          [
            "create",
            "--database",
            ws.database,
            "--dir",
            ws.dir,
            "--copy-to",
            url,
            "--format",
            "json",
          ],
          { env, clock },
        );
        assert.equal(second.code, 0, second.stderr);
        // the killed upload is older than 15 minutes: the run that takes the lock aborts it first
        assert.match(
          second.stderr,
          new RegExp(
            `^Removed leftover "${first}\\.sql\\.gz\\.partial~\\S+" of an interrupted run \\(upload, `,
            "m",
          ),
        );
        assert.deepEqual(await bucket.incompleteUploads(), []);
        const report = JSON.parse(second.stdout);
        assert.deepEqual(
          report.copies[0].copied.map((c: { id: string }) => c.id),
          [report.id, first],
          "the new backup first, then the one the killed run missed",
        );
        const there = await runCli(["verify", "--all", "--dir", url], { env, clock });
        assert.equal(there.code, 0, there.stdout);
        assert.equal(there.stdout.match(/^PASS /gm)?.length, 2);

        const cleaned = await runCli(["cleanup", "--dir", url, "--keep-last", "5"], { env, clock });
        assert.equal(cleaned.code, 0, cleaned.stderr);
        assert.doesNotMatch(cleaned.stdout, /incomplete file/);
        assert.deepEqual(await bucket.incompleteUploads(), []);
      }), server);
  } finally {
    await server.stop();
  }
});

Deno.test("a wrong secret key is exit 7 and one line naming the endpoint and the bucket, never the secret", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("db");
    const wrong = "wrong-secret-do-not-print-0000000000000001";
    const env = { ...run.env, AWS_SECRET_ACCESS_KEY: wrong };
    const where = `"${url}" at ${new URL(run.bucket.server.endpoint).host}`;
    const why =
      "the access key or secret is wrong (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile)";
    for (
      const args of [
        ["create", "--database", run.ws.database, "--dir", url],
        ["list", "--dir", url],
        ["verify", "--all", "--dir", url],
        ["restore", "1123", "--dir", url, "--to", join(run.ws.root, "r.db")],
        ["cleanup", "--dir", url, "--keep-last", "1"],
      ]
    ) {
      const result = await runCli(args, { env, clock: run.clock });
      assert.equal(result.code, ExitCode.Storage, `${args[0]}: ${result.stderr}`);
      assert.deepEqual(lines(result.stderr), [`Error: Cannot list ${where}: ${why}`], args[0]);
      assert.ok(!(result.stdout + result.stderr).includes(wrong));
    }
    const copy = await runCli(
      ["create", "--database", run.ws.database, "--dir", run.ws.dir, "--copy-to", url],
      { env, clock: run.clock },
    );
    assert.equal(copy.code, ExitCode.Storage);
    assert.deepEqual(lines(copy.stderr), [
      `Error: Cannot list ${where}: ${why} (no backup was copied there; the next run tries again)`,
    ]);
    assert.deepEqual(await run.bucket.keys(), []);
  });
});

Deno.test("a missing bucket is exit 7 and one line that names it and says to create it", async () => {
  await withS3Run(async (run) => {
    const url = `s3://${run.bucket.name}-missing/db`;
    const host = new URL(run.bucket.server.endpoint).host;
    for (
      const args of [
        ["create", "--database", run.ws.database, "--dir", url],
        ["list", "--dir", url],
        ["status", "--database", run.ws.database, "--dir", url],
      ]
    ) {
      const result = await runCli(args, { env: run.env, clock: run.clock });
      assert.equal(result.code, ExitCode.Storage, `${args[0]}: ${result.stderr}`);
      assert.deepEqual(lines(result.stderr), [
        `Error: Cannot list "${url}" at ${host}: the bucket "${run.bucket.name}-missing" does not exist (create it first)`,
      ], args[0]);
    }
  });
});

Deno.test("a flipped byte in an object fails verify and restore with exit 5 and leaves the target untouched", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("db");
    const id = await createIn(run, url);
    const key = `db/${id}.sql.gz`;
    const bytes = await run.bucket.read(key);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await run.bucket.write(key, bytes);
    execSql(run.ws.database, "INSERT INTO accounts (name, balance) VALUES ('after', 1)");
    const before = await sha256File(run.ws.database);
    const objects = await run.bucket.keys("db/");

    const restored = await runCli(
      ["restore", id, "--dir", url, "--database", run.ws.database, "--force"],
      { env: run.env, clock: run.clock },
    );
    assert.equal(restored.code, ExitCode.Integrity, restored.stderr);
    assert.match(
      restored.stderr,
      new RegExp(
        `^Error: Cannot restore backup "${id}": its data file "${id}\\.sql\\.gz" is damaged \\(bytes changed: \\d+ bytes as recorded, but another SHA-256\\); restore another backup\n$`,
      ),
    );
    assert.equal(await sha256File(run.ws.database), before);
    const afterRestore = (await run.bucket.keys("db/")).filter((k) => !k.includes("/.append/"));
    assert.deepEqual(
      afterRestore,
      objects.filter((k) => !k.includes("/.append/")),
      "no safety backup",
    );

    const verified = await runCli(["verify", id, "--dir", url], { env: run.env, clock: run.clock });
    assert.equal(verified.code, ExitCode.Integrity);
    assert.match(
      verified.stdout,
      /\n {2}FAIL data file: its data file ".+" is damaged \(bytes changed: \d+ bytes as recorded, but another SHA-256\)\n/,
    );
    assert.equal(verified.stderr, "1 of 1 backup(s) failed verification\n");
    const listed = await runCli(["list", "--dir", url], { env: run.env, clock: run.clock });
    assert.match(listed.stdout, new RegExp(`^${id}\\s.*\\sDAMAGED\\s*$`, "m"));
  });
});

Deno.test("a sidecar whose data object was deleted lists as damaged and restore refuses it with exit 5", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("db");
    const older = await createIn(run, url);
    run.clock.advance();
    const id = await createIn(run, url);
    await run.bucket.remove(`db/${id}.sql.gz`);

    const listed = await runCli(["list", "--dir", url], { env: run.env, clock: run.clock });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+full\\s.*\\s-\\s+DAMAGED\\s*$`, "m"));
    assert.match(listed.stdout, new RegExp(`^${older}\\s+full\\s.*\\sok\\s*$`, "m"));
    assert.match(listed.stdout, new RegExp(`\n! Backup "${id}" has no data file\n$`));
    const json = JSON.parse(
      (await runCli(["list", "--dir", url, "--format", "json"], { env: run.env })).stdout,
    );
    assert.deepEqual([json[0].id, json[0].good, json[0].problem], [
      id,
      false,
      `Backup "${id}" has no data file`,
    ]);

    const target = join(run.ws.root, "restored.db");
    const restored = await runCli(["restore", id, "--dir", url, "--to", target], {
      env: run.env,
      clock: run.clock,
    });
    assert.equal(restored.code, ExitCode.Integrity, restored.stderr);
    assert.equal(lines(restored.stderr).length, 1);
    assert.match(restored.stderr, new RegExp(`^Error: .*"${id}".*\n$`));
    assert.match(restored.stderr, /data file/);
    await assert.rejects(Deno.stat(target), Deno.errors.NotFound);
  });
});

Deno.test("the secret key appears in no output, audit line, sidecar or file of any command", async () => {
  await withS3Run(async (run) => {
    const secret = run.bucket.server.secretAccessKey;
    const url = run.bucket.url("db");
    const config = join(run.ws.root, "backup-manager.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ database: run.ws.database, backupDir: url, copies: [{ url: run.ws.dir }] }),
    );
    const outputs: string[] = [];
    const cli = async (args: string[], env = run.env, code = 0) => {
      const result = await runCli(["--verbose", ...args], {
        env,
        clock: run.clock,
        cwd: run.ws.root,
      });
      outputs.push(result.stdout, result.stderr);
      assert.equal(result.code, code, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
      run.clock.advance();
      return result;
    };
    const id = JSON.parse((await cli(["create", "--format", "json"])).stdout).id;
    await cli(["list"]);
    await cli(["list", "--format", "json"]);
    await cli(["verify", "--all", "--restore-test"]);
    await cli(["status", "--format", "json"]);
    await cli(["pin", id]);
    await cli(["restore", id, "--to", join(run.ws.root, "r.db")]);
    await cli(["copy", id, "--to", run.bucket.url("other")]);
    await cli(["auto", "--once"]);
    await cli(["cleanup", "--keep-last", "1"]);
    const wrong = { ...run.env, AWS_SECRET_ACCESS_KEY: `${secret}-but-wrong` };
    await cli(["create"], wrong, ExitCode.Storage);
    await cli(["list"], wrong, ExitCode.Storage);

    const stored: string[] = [];
    for (const key of await run.bucket.keys()) {
      stored.push(`${key}: ${new TextDecoder().decode(await run.bucket.read(key))}`);
    }
    assert.ok(stored.some((s) => s.includes("/.append/audit.jsonl/")), "the audit log was read");
    assert.ok(stored.some((s) => s.includes(".meta.json: ")), "sidecars were read");
    const local = await filesUnder(run.ws.root);
    assert.ok(local.some(([path]) => path.endsWith("audit.jsonl")));
    const everything = [...outputs, ...stored, ...local.map(([path, text]) => `${path}: ${text}`)];
    const leaks = everything.filter((text) => text.includes(secret));
    assert.deepEqual(leaks, []);
  });
});

/** Every regular file under `dir`, with its bytes as text. */
async function filesUnder(dir: string): Promise<[string, string][]> {
  const files: [string, string][] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await filesUnder(path));
    else if (entry.isFile) files.push([path, new TextDecoder().decode(await Deno.readFile(path))]);
  }
  return files;
}

Deno.test("an object with junk appended, and one cut short, are each named for what they are", async () => {
  await withS3Run(async (run) => {
    const url = run.bucket.url("db");
    const appended = await createIn(run, url);
    run.clock.advance();
    const cut = await createIn(run, url);
    const junk = new TextEncoder().encode("trailing junk");
    const whole = await run.bucket.read(`db/${appended}.sql.gz`);
    await run.bucket.write(`db/${appended}.sql.gz`, new Uint8Array([...whole, ...junk]));
    const full = await run.bucket.read(`db/${cut}.sql.gz`);
    await run.bucket.write(`db/${cut}.sql.gz`, full.subarray(0, 100));
    const cases: [string, string][] = [
      [
        appended,
        `its data file "${appended}.sql.gz" has ${junk.length} bytes appended after its end (its first ${whole.length} bytes match); cut it to ${whole.length} bytes, or restore another backup`,
      ],
      [
        cut,
        `its data file "${cut}.sql.gz" is truncated (100 of ${full.length} bytes); an upload or copy stopped early; restore another backup`,
      ],
    ];
    for (const [id, says] of cases) {
      const restored = await runCli(
        ["restore", id, "--dir", url, "--database", run.ws.database, "--force"],
        { env: run.env, clock: run.clock },
      );
      assert.equal(restored.code, ExitCode.Integrity, restored.stderr);
      assert.equal(restored.stderr, `Error: Cannot restore backup "${id}": ${says}\n`);
      const verified = await runCli(["verify", id, "--dir", url], {
        env: run.env,
        clock: run.clock,
      });
      assert.equal(verified.code, ExitCode.Integrity);
      assert.ok(
        verified.stdout.includes(`\n  FAIL data file: ${says.split("; ")[0]}`),
        verified.stdout,
      );
    }
  });
});
