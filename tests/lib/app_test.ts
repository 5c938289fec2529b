/**
 * A separate little application, in a directory of its own with no configuration (no deno.json,
 * no import map, no node_modules), imports `mod.ts` by file URL and runs as a real
 * `deno run -A app.ts`: every import the library reaches must resolve on its own. The app
 * prints what it got; the library prints nothing, so stderr stays empty.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ENV_SETTINGS } from "../../src/config/environment.ts";

const MOD_URL = new URL("../../mod.ts", import.meta.url).href;

/** The application: every operation once, then a scheduler that makes two backups. */
const APP = `
import { DatabaseSync } from "node:sqlite";
import {
  BackupNotFoundError,
  createScheduler,
  openBackupManager,
  RefusedError,
} from "${MOD_URL}";

const print = (...parts) => console.log(parts.join(" "));
Deno.mkdirSync("data", { recursive: true });
const db = new DatabaseSync("data/app.db");
db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
db.exec("INSERT INTO notes (body) VALUES ('first'), ('second')");
db.close();
const rows = () => {
  const db = new DatabaseSync("data/app.db");
  try {
    return db.prepare("SELECT count(*) AS n FROM notes").get().n;
  } finally {
    db.close();
  }
};

const warnings = [];
const manager = openBackupManager(
  { database: "./data/app.db", backupDir: "./backups", retention: { keepLast: 2 } },
  { onEvent: (event) => event.type === "warning" && warnings.push(event.message) },
);
const meta = await manager.createBackup({ description: "from the app" });
print("created", meta.type, meta.description, meta.totals.rows);
const listed = await manager.listBackups();
print("listed", listed.length, listed[0].id === meta.id);
const check = await manager.verifyBackup(meta.id);
print("verified", check.ok);

const db2 = new DatabaseSync("data/app.db");
db2.exec("INSERT INTO notes (body) VALUES ('third')");
db2.close();
try {
  await manager.restoreBackup(meta.id);
} catch (error) {
  print("refused", error instanceof RefusedError, error.exitCode);
}
const restored = await manager.restoreBackup(meta.id, { force: true });
print("restored", restored.id === meta.id, restored.safetyBackup?.startsWith("pre-restore_"), rows());
try {
  await manager.restoreBackup("no-such-backup");
} catch (error) {
  print("not found", error instanceof BackupNotFoundError, error.exitCode);
}

const scheduler = createScheduler({ manager });
scheduler.updateConfig({
  enabled: true,
  type: "interval",
  interval: 1000,
  backupType: "full",
  description: "Every second",
});
const made = [];
const twice = new Promise((resolve) =>
  scheduler.on("backup", (event) => made.push(event.backupId) === 2 && resolve())
);
scheduler.start();
await twice;
await scheduler.stop();
print("scheduled", made.length, scheduler.status().running);

const reports = await manager.cleanup();
print("cleanup", reports.length, reports[0].failures.length);
const fulls = (await manager.listBackups()).filter((b) => b.type === "full");
print("full backups", fulls.length, fulls.every((b) => b.meta.description === "Every second"));
const status = await manager.status();
print("status", typeof status.systemHealth, status.databaseReachable);
print("warnings", warnings.length);
`;

Deno.test("an application with no configuration of its own imports mod.ts by file URL and runs every operation and a scheduler", async () => {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-app-" });
  try {
    await Deno.writeTextFile(join(root, "app.ts"), APP);
    const env = Deno.env.toObject();
    for (const name of Object.keys(ENV_SETTINGS)) delete env[name];
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "app.ts"],
      cwd: root,
      env: { ...env, RUST_BACKTRACE: "0", NO_COLOR: "1" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stdout + stderr);
    // a machine whose npm cache lacks a package fetches it first (one "Download" line each)
    const said = stderr.split("\n").filter((line) => line && !/^Download https?:\/\//.test(line));
    assert.deepEqual(said, [], "no resolution warning, no output of the library's own");
    assert.deepEqual(stdout.trimEnd().split("\n"), [
      "created full from the app 2",
      "listed 1 true",
      "verified true",
      "refused true 6",
      "restored true true 2",
      "not found true 3",
      "scheduled 2 false",
      "cleanup 1 0",
      "full backups 2 true",
      "status string true",
      "warnings 0",
    ]);
    const names = [...Deno.readDirSync(root)].map((e) => e.name).sort();
    assert.deepEqual(names, ["app.ts", "backups", "data"], "no deno.json, lock or node_modules");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
