/** SQLite scratch leftovers on real files: a dead owner's is stale and removed, a live one's kept. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findSqliteScratch, removeSqliteScratch } from "../../../src/engines/sqlite/_scratch.ts";
import { currentOwner, scratchFileName } from "../../../src/core/scratch_names.ts";
import { withWorkspace } from "../../helpers/workspace.ts";

Deno.test("findSqliteScratch() finds a killed restore's file with its companions; a live one is kept", async () => {
  await withWorkspace(async (ws) => {
    const child = new Deno.Command("true").spawn();
    const deadPid = child.pid;
    await child.status;
    const now = new Date();
    const dead = join(
      ws.root,
      scratchFileName("app.db", "restore", { ...currentOwner(now), pid: deadPid }),
    );
    const live = join(ws.root, scratchFileName("app.db", "restore", currentOwner(now)));
    await Deno.writeFile(dead, new Uint8Array(100));
    await Deno.writeFile(dead + "-journal", new Uint8Array(20));
    await Deno.writeFile(live, new Uint8Array(7));
    await Deno.writeFile(join(ws.root, ".other.db.bm-restore.h.1.2"), new Uint8Array(1));
    const found = (await findSqliteScratch(ws.database, now)).filter((l) =>
      l.name.startsWith(ws.root)
    );
    assert.deepEqual(
      found.sort((a, b) => a.name.localeCompare(b.name)),
      [
        { name: dead, kind: "restore", size: 120, stale: `process ${deadPid} is gone` },
        { name: live, kind: "restore", size: 7 },
      ].sort((a, b) => a.name.localeCompare(b.name)),
    );
    await removeSqliteScratch(found.find((l) => l.name === dead)!);
    const names = [...Deno.readDirSync(ws.root)].map((e) => e.name).sort();
    assert.deepEqual(names, [".other.db.bm-restore.h.1.2", live.slice(ws.root.length + 1)].sort());
  });
});
