/**
 * `renderMetrics()` in-process against real SQLite databases and real local stores in temporary
 * directories, with a fake clock: exact counts and bytes by type and state, the timestamps of the
 * newest good and verified backups, runs and failures in a row, copy destinations (lagging,
 * unreadable), an unreadable store, no secret in a label, one listing per scrape; and every answer
 * is checked against the text exposition format (HELP and TYPE for every family, no duplicate
 * series, only our prefix).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type MetricsOptions, renderMetrics } from "../../src/api/metrics.ts";
import { readAudit } from "../../src/core/audit.ts";
import { copyBackup } from "../../src/core/copy.ts";
import { createBackup } from "../../src/core/create.ts";
import { DEFAULT_HEALTH_POLICY } from "../../src/core/health.ts";
import { runCycle, type SchedulerContext } from "../../src/core/scheduler.ts";
import { verifyBackup } from "../../src/core/verify.ts";
import { engineFor } from "../../src/engines/registry.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { FakeClock } from "../helpers/cli.ts";
import { makeDatabase, withWorkspace, type Workspace } from "../helpers/workspace.ts";

const HOUR = 60 * 60 * 1000;
const TYPES = ["full", "schema", "pre-restore"];
const STATES = ["ok", "verified", "damaged"];
/** The default policy without the free-space rule, so the verdict does not depend on the disk. */
const POLICY = { ...DEFAULT_HEALTH_POLICY, minFreeBytes: 0 };

/** A clock that moves `stepMs` forward each time it is read, so runs take measurable time. */
class TickingClock extends FakeClock {
  constructor(start: string, readonly stepMs: number) {
    super(start);
  }

  override now(): Date {
    const now = super.now();
    this.advance(this.stepMs);
    return now;
  }
}

function contextOf(ws: Workspace, clock: FakeClock, storage?: Storage): SchedulerContext {
  return {
    storage: storage ?? new LocalStorage(ws.dir),
    engine: engineFor(ws.database, {}),
    database: ws.database,
    clock,
  };
}

/** A series' key: its name, and its labels sorted by name. */
function series(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length ? `${name}{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`)}}` : name;
}

/**
 * Parses the text exposition format strictly enough to catch what Prometheus would reject or
 * misread: every sample belongs to a family announced by one HELP and one TYPE line before it,
 * no series appears twice, names and labels are well formed. Returns the samples by series key.
 */
function parseExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  const helps = new Map<string, string>();
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    const comment = new RegExp(`^# (HELP|TYPE) (${name}) (.*)$`).exec(line);
    if (comment) {
      const [, kind, family, rest] = comment;
      const seen = kind === "HELP" ? helps : types;
      assert.ok(!seen.has(family), `a second ${kind} line for ${family}`);
      assert.ok(!samples.has(family), `${kind} of ${family} after its samples`);
      if (kind === "TYPE") assert.equal(rest, "gauge", `type of ${family}`);
      else assert.ok(rest.length > 20, `HELP of ${family} says what it means: "${rest}"`);
      seen.set(family, rest);
      continue;
    }
    assert.ok(!line.startsWith("#"), `a comment that is neither HELP nor TYPE: ${line}`);
    const sample = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const [, family, labelText, valueText] = sample;
    assert.ok(family.startsWith("backup_manager_"), `${family} has the prefix`);
    assert.ok(helps.has(family) && types.has(family), `HELP and TYPE before ${family}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined) {
      const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let match;
      while (pair.lastIndex < labelText.length && (match = pair.exec(labelText))) {
        assert.ok(!(match[1] in labels), `label ${match[1]} twice in ${line}`);
        labels[match[1]] = JSON.parse(`"${match[2]}"`);
      }
      assert.equal(pair.lastIndex, labelText.length, `malformed labels in ${line}`);
    }
    const value = Number(valueText);
    assert.ok(!Number.isNaN(value), `not a number: ${line}`);
    const key = series(family, labels);
    assert.ok(!samples.has(key), `duplicate series ${key}`);
    samples.set(key, value);
  }
  for (const family of helps.keys()) assert.ok(types.has(family), `no TYPE for ${family}`);
  return samples;
}

/** Scrapes, checks the format and the content type, and returns the samples. */
async function scrape(
  context: SchedulerContext,
  options: MetricsOptions = { policy: POLICY },
): Promise<Map<string, number>> {
  const { contentType, body } = await renderMetrics(context, options);
  assert.equal(contentType, "text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(body);
}

/** Samples whose family starts with `prefix` (`backup_manager_` added). */
function family(samples: Map<string, number>, prefix: string): Record<string, number> {
  const wanted = `backup_manager_${prefix}`;
  return Object.fromEntries([...samples].filter(([key]) => key.split("{")[0] === wanted));
}

/** Every `backups` or `backup_bytes` series: zero except `nonZero`. */
function byTypeAndState(name: string, nonZero: Record<string, number>): Record<string, number> {
  const all: Record<string, number> = {};
  for (const type of TYPES) {
    for (const state of STATES) {
      all[series(`backup_manager_${name}`, { type, state })] = nonZero[`${type}/${state}`] ?? 0;
    }
  }
  return all;
}

/** `backup_manager_<name>{type=…}` for every type: zero except `nonZero`. */
function byType(name: string, nonZero: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    TYPES.map((type) => [series(`backup_manager_${name}`, { type }), nonZero[type] ?? 0]),
  );
}

async function bytesOf(dir: string, id: string): Promise<number> {
  return (await Deno.stat(join(dir, `${id}.sql.gz`))).size +
    (await Deno.stat(join(dir, `${id}.meta.json`))).size;
}

const at = (iso: string) => Date.parse(iso) / 1000;

Deno.test("renderMetrics() of an empty store gives zero counts and timestamps and no run outcome", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const m = await scrape(contextOf(ws, new FakeClock()));
    assert.deepEqual(Object.fromEntries(m), {
      [
        series("backup_manager_info", {
          version: "0.1.0",
          engine: "sqlite",
          database: ws.database,
          store: ws.dir,
        })
      ]: 1,
      backup_manager_store_up: 1,
      ...byTypeAndState("backups", {}),
      ...byTypeAndState("backup_bytes", {}),
      backup_manager_last_good_backup_timestamp_seconds: 0,
      ...byType("last_good_backup_by_type_timestamp_seconds", {}),
      backup_manager_last_verified_backup_timestamp_seconds: 0,
      ...byType("last_verified_backup_by_type_timestamp_seconds", {}),
      // no run yet: its time is 0 (an age rule fires), its success and duration are unknown
      backup_manager_last_run_timestamp_seconds: 0,
      backup_manager_consecutive_failed_runs: 0,
      backup_manager_health_level: 2,
      [series("backup_manager_health_reasons", { rule: "backups", level: "critical" })]: 1,
      backup_manager_incomplete_files: 0,
      backup_manager_leftovers: 0,
      backup_manager_leftover_bytes: 0,
      // no backup_manager_store_free_bytes: the directory does not exist yet, so it cannot tell
      backup_manager_database_reachable: 1,
    });
  });
});

Deno.test("renderMetrics() counts backups and bytes by type and state and dates the newest good and verified", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const context = contextOf(ws, clock);
    const full1 = await createBackup(context);
    clock.advance(HOUR);
    const schema = await createBackup(context, { type: "schema" });
    clock.advance(HOUR);
    const full2 = await createBackup(context);
    clock.advance(HOUR);
    assert.equal((await verifyBackup(context, schema.id)).ok, true);
    await Deno.truncate(join(ws.dir, `${full2.id}.sql.gz`), 10);
    await Deno.writeTextFile(join(ws.dir, "full_20261123T090000000Z.sql.gz.partial"), "x");

    const m = await scrape(context);
    assert.deepEqual(
      family(m, "backups"),
      byTypeAndState("backups", { "full/ok": 1, "full/damaged": 1, "schema/verified": 1 }),
    );
    assert.deepEqual(
      family(m, "backup_bytes"),
      byTypeAndState("backup_bytes", {
        "full/ok": await bytesOf(ws.dir, full1.id),
        "full/damaged": await bytesOf(ws.dir, full2.id),
        "schema/verified": await bytesOf(ws.dir, schema.id),
      }),
    );
    // the damaged newest full is skipped: the newest good one is the schema backup
    assert.equal(m.get("backup_manager_last_good_backup_timestamp_seconds"), at(schema.createdAt));
    assert.deepEqual(
      family(m, "last_good_backup_by_type_timestamp_seconds"),
      byType("last_good_backup_by_type_timestamp_seconds", {
        full: at(full1.createdAt),
        schema: at(schema.createdAt),
      }),
    );
    assert.equal(
      m.get("backup_manager_last_verified_backup_timestamp_seconds"),
      at(schema.createdAt),
    );
    assert.deepEqual(
      family(m, "last_verified_backup_by_type_timestamp_seconds"),
      byType("last_verified_backup_by_type_timestamp_seconds", { schema: at(schema.createdAt) }),
    );
    assert.equal(at(full1.createdAt), at("2026-11-23T10:00:00.000Z"));
    // the last run is the last create (the fake clock stood still while it ran)
    assert.equal(m.get("backup_manager_last_run_timestamp_seconds"), at(full2.createdAt));
    assert.equal(m.get("backup_manager_last_run_success"), 1);
    assert.equal(m.get("backup_manager_last_run_duration_seconds"), 0);
    assert.equal(m.get("backup_manager_consecutive_failed_runs"), 0);
    assert.equal(m.get("backup_manager_incomplete_files"), 1);
    assert.equal(m.get("backup_manager_leftovers"), 1);
    assert.equal(m.get("backup_manager_leftover_bytes"), 1); // the partial's one byte
    assert.ok(m.get("backup_manager_store_free_bytes")! > 0);
    assert.equal(m.get("backup_manager_health_level"), 2);
    assert.deepEqual(family(m, "health_reasons"), {
      [series("backup_manager_health_reasons", { rule: "integrity", level: "critical" })]: 1,
      [series("backup_manager_health_reasons", { rule: "integrity", level: "warning" })]: 1,
      [series("backup_manager_health_reasons", { rule: "incomplete", level: "warning" })]: 1,
    });
  });
});

Deno.test("renderMetrics() shows a failed run and counts failures in a row until a run succeeds", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new TickingClock("2026-11-23T10:00:00.000Z", 100);
    const context = contextOf(ws, clock);
    const lastRunLine = async () => {
      const [line] = await readAudit(ws.dir, { actions: ["run"], limit: 1 });
      const durationMs = line.details?.durationMs as number;
      assert.ok(durationMs > 0, "the ticking clock makes runs take time");
      return { time: at(line.time), duration: durationMs / 1000 };
    };

    assert.equal((await runCycle(context, {})).outcome, "ok");
    let m = await scrape(context);
    let line = await lastRunLine();
    assert.equal(m.get("backup_manager_last_run_success"), 1);
    assert.equal(m.get("backup_manager_last_run_timestamp_seconds"), line.time);
    assert.equal(m.get("backup_manager_last_run_duration_seconds"), line.duration);
    assert.equal(m.get("backup_manager_consecutive_failed_runs"), 0);
    assert.equal(m.get("backup_manager_health_level"), 0);

    await Deno.rename(ws.database, `${ws.database}.away`);
    assert.equal((await runCycle(context, {})).outcome, "failed");
    assert.equal((await runCycle(context, {})).outcome, "failed");
    m = await scrape(context);
    line = await lastRunLine();
    assert.equal(m.get("backup_manager_last_run_success"), 0);
    assert.equal(m.get("backup_manager_last_run_timestamp_seconds"), line.time);
    assert.equal(m.get("backup_manager_last_run_duration_seconds"), line.duration);
    assert.equal(m.get("backup_manager_consecutive_failed_runs"), 2);
    assert.equal(m.get("backup_manager_database_reachable"), 0);
    assert.equal(m.get("backup_manager_health_level"), 2);
    assert.deepEqual(family(m, "health_reasons"), {
      [series("backup_manager_health_reasons", { rule: "database", level: "critical" })]: 1,
      [series("backup_manager_health_reasons", { rule: "last-run", level: "warning" })]: 1,
    });
    // the backup of the first run is still the newest good and verified one
    assert.deepEqual(
      family(m, "backups"),
      byTypeAndState("backups", { "full/verified": 1 }),
    );

    await Deno.rename(`${ws.database}.away`, ws.database);
    assert.equal((await runCycle(context, {})).outcome, "ok");
    m = await scrape(context);
    assert.equal(m.get("backup_manager_last_run_success"), 1);
    assert.equal(m.get("backup_manager_consecutive_failed_runs"), 0);
    assert.equal(m.get("backup_manager_database_reachable"), 1);
  });
});

Deno.test("renderMetrics() reports a destination's copies and lag, and an unreadable one as down", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const context = contextOf(ws, clock);
    const copiesDir = join(ws.root, "copies");
    const copies = new LocalStorage(copiesDir);
    const brokenPath = join(ws.root, "not-a-directory");
    await Deno.writeTextFile(brokenPath, "a file where a store should be");
    const broken = new LocalStorage(brokenPath);
    const options = { policy: POLICY, destinations: [copies, broken] };
    const good = { destination: copiesDir };
    const down = { destination: brokenPath };

    const full1 = await createBackup(context);
    await copyBackup(context.storage, copies, full1.id);
    await Deno.writeTextFile(join(copiesDir, "full_20261123T090000000Z.sql.gz.partial"), "x");
    clock.advance(HOUR);
    const full2 = await createBackup(context);
    let m = await scrape(context, options);
    const destinations = () =>
      Object.fromEntries([...m].filter(([key]) => key.startsWith("backup_manager_destination_")));
    assert.deepEqual(destinations(), {
      [series("backup_manager_destination_up", good)]: 1,
      [series("backup_manager_destination_up", down)]: 0,
      [series("backup_manager_destination_good_copies", good)]: 1,
      [series("backup_manager_destination_last_good_copy_timestamp_seconds", good)]: at(
        full1.createdAt,
      ),
      [series("backup_manager_destination_lagging", good)]: 1,
      [series("backup_manager_destination_incomplete_files", good)]: 1,
    });
    // unreadable, lagging, incomplete upload
    assert.equal(
      m.get(series("backup_manager_health_reasons", { rule: "destination", level: "warning" })),
      3,
    );

    await copyBackup(context.storage, copies, full2.id);
    await Deno.remove(join(copiesDir, "full_20261123T090000000Z.sql.gz.partial"));
    m = await scrape(context, { policy: POLICY, destinations: [copies] });
    assert.deepEqual(destinations(), {
      [series("backup_manager_destination_up", good)]: 1,
      [series("backup_manager_destination_good_copies", good)]: 2,
      [series("backup_manager_destination_last_good_copy_timestamp_seconds", good)]: at(
        full2.createdAt,
      ),
      [series("backup_manager_destination_lagging", good)]: 0,
      [series("backup_manager_destination_incomplete_files", good)]: 0,
    });
  });
});

Deno.test("renderMetrics() of a store that cannot be read says store_up 0 and critical", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    await Deno.writeTextFile(ws.dir, "a file where the store should be");
    const m = await scrape(contextOf(ws, new FakeClock()));
    assert.deepEqual(Object.fromEntries(m), {
      [
        series("backup_manager_info", {
          version: "0.1.0",
          engine: "sqlite",
          database: ws.database,
          store: ws.dir,
        })
      ]: 1,
      backup_manager_store_up: 0,
      backup_manager_health_level: 2,
      backup_manager_database_reachable: 1,
    });
  });
});

Deno.test("renderMetrics() keeps the password of a PostgreSQL location out of every label", async () => {
  await withWorkspace(async (ws) => {
    const database = "postgres://backup:s3cret-pw@127.0.0.1:1/app";
    const context: SchedulerContext = {
      storage: new LocalStorage(ws.dir),
      engine: engineFor(database, {}),
      database,
      clock: new FakeClock(),
    };
    const { body } = await renderMetrics(context, { policy: POLICY });
    assert.ok(!body.includes("s3cret"), body);
    const m = parseExposition(body);
    assert.equal(
      m.get(series("backup_manager_info", {
        version: "0.1.0",
        engine: "postgres",
        database: "postgres://backup@127.0.0.1:1/app",
        store: ws.dir,
      })),
      1,
    );
    assert.equal(m.get("backup_manager_database_reachable"), 0);
  });
});

Deno.test("renderMetrics() lists the store and each destination once per scrape", async () => {
  await withWorkspace(async (ws) => {
    makeDatabase(ws.database);
    const clock = new FakeClock("2026-11-23T10:00:00.000Z");
    const setup = contextOf(ws, clock);
    const first = await createBackup(setup);
    clock.advance(HOUR);
    await createBackup(setup, { type: "schema" });
    const copiesDir = join(ws.root, "copies");
    await copyBackup(setup.storage, new LocalStorage(copiesDir), first.id);

    const store = new CountingStorage(new LocalStorage(ws.dir));
    const copies = new CountingStorage(new LocalStorage(copiesDir));
    const m = await scrape(contextOf(ws, clock, store), {
      policy: POLICY,
      destinations: [copies],
    });
    assert.equal(m.get("backup_manager_store_up"), 1);
    assert.deepEqual(store.calls, {
      list: 1,
      listIncomplete: 1,
      [`read ${first.id}.meta.json`]: 1,
      [`read ${(await readAudit(ws.dir, { actions: ["create"] }))[0].target}.meta.json`]: 1,
      "read audit.jsonl": 1,
      freeBytes: 1,
    });
    assert.deepEqual(copies.calls, {
      list: 1,
      listIncomplete: 1,
      [`read ${first.id}.meta.json`]: 1,
    });
  });
});

/** A store that counts the calls made to it. */
class CountingStorage implements Storage {
  readonly calls: Record<string, number> = {};
  readonly location: string;
  readonly #inner: Storage;

  constructor(inner: Storage) {
    this.#inner = inner;
    this.location = inner.location;
  }

  #count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  list() {
    this.#count("list");
    return this.#inner.list();
  }

  listIncomplete() {
    this.#count("listIncomplete");
    return this.#inner.listIncomplete();
  }

  read(key: string) {
    this.#count(`read ${key}`);
    return this.#inner.read(key);
  }

  stat(key: string) {
    this.#count(`stat ${key}`);
    return this.#inner.stat(key);
  }

  create(key: string) {
    this.#count(`create ${key}`);
    return this.#inner.create(key);
  }

  append(key: string, bytes: Uint8Array) {
    this.#count(`append ${key}`);
    return this.#inner.append(key, bytes);
  }

  remove(key: string) {
    this.#count(`remove ${key}`);
    return this.#inner.remove(key);
  }

  freeBytes() {
    this.#count("freeBytes");
    return this.#inner.freeBytes();
  }
}
