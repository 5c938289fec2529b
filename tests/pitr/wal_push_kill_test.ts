/**
 * `wal-push` killed with SIGKILL while it writes (a real process, as the archiver runs it): the
 * file is never visible half-written (`wal-fetch` says it is not archived), and the server's
 * retry stores it whole.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, scriptCommand } from "../helpers/cli.ts";
import { sleep } from "../helpers/pitr_writer.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { sweepArchiveStore } from "../../src/pitr/pg_pitr_retention.ts";

const SEGMENT = "000000010000000000000007";

Deno.test("wal-push killed mid-write leaves nothing wal-fetch would use; the retry stores it whole", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-wal-kill-" });
  try {
    const data = join(root, "data");
    await Deno.mkdir(join(data, "pg_wal"), { recursive: true });
    const store = join(root, "store");
    // 64 MiB that compress poorly, so the push is still writing when it is killed
    const bytes = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, i + 65536));
    }
    await Deno.writeFile(join(data, "pg_wal", SEGMENT), bytes);
    let killedMidWrite = false;
    for (let attempt = 0; attempt < 6 && !killedMidWrite; attempt++) {
      const child = scriptCommand(["wal-push", `pg_wal/${SEGMENT}`, "--dir", store], { cwd: data })
        .spawn();
      // wait until the data object has started to appear, then kill
      const deadline = Date.now() + 20_000;
      for (;;) {
        const names = await Array.fromAsync(Deno.readDir(join(store, "pitr"))).catch(() => []);
        if (names.some((e) => e.name.includes(SEGMENT))) break;
        if (Date.now() > deadline) break;
        await sleep(5);
      }
      await sleep(attempt * 20);
      child.kill("SIGKILL");
      await child.output();
      const fetched = await runCli(
        ["wal-fetch", SEGMENT, "pg_wal/RECOVERYXLOG", "--dir", store],
        { cwd: data },
      );
      if (fetched.code === 1) {
        killedMidWrite = true;
        assert.equal(fetched.stderr, "");
        assert.equal(
          await Deno.stat(join(data, "pg_wal", "RECOVERYXLOG")).then(() => true, () => false),
          false,
        );
      } else {
        assert.equal(fetched.code, 0, fetched.stderr); // it finished before the kill: whole
        await Deno.remove(join(store, "pitr"), { recursive: true });
      }
    }
    assert.ok(killedMidWrite, "no kill landed while the push was writing");

    const retried = await runCli(["wal-push", `pg_wal/${SEGMENT}`, "--dir", store], { cwd: data });
    assert.equal(retried.code, 0, retried.stderr);
    const fetched = await runCli(
      ["wal-fetch", SEGMENT, "pg_wal/RECOVERYXLOG", "--dir", store],
      { cwd: data },
    );
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.deepEqual(await Deno.readFile(join(data, "pg_wal", "RECOVERYXLOG")), bytes);
    const verified = await runCli(["verify", "--pitr", "--dir", store]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    // what the killed push left (its partial write) goes with the next base backup's sweep
    const pitr = new LocalStorage(join(store, "pitr"));
    assert.ok((await pitr.listIncomplete()).length > 0, "the killed push left a partial write");
    assert.ok((await sweepArchiveStore(pitr, new Date())) > 0);
    assert.deepEqual(await pitr.listIncomplete(), []);
    assert.deepEqual(
      (await pitr.list()).map((e) => e.key).sort(),
      [`wal.${SEGMENT}.gz`, `wal.${SEGMENT}.json`],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
