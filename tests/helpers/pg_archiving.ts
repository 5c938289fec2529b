/**
 * A throwaway PostgreSQL cluster that archives its WAL through our own `wal-push`, and running
 * the command line as the server's user (`postgres`), as the README's recipe does: the archiver
 * calls `archive_command` as that user, in the data directory, and `restore --check` must not
 * run as root. The script, its `deno.json` and `node_modules` must be readable by that user:
 * when the checkout is not (a home directory), a copy in a temporary directory is used, made
 * once per test process and removed when it ends.
 */
import { join } from "node:path";
import postgres from "postgres";
import { SCRIPT_PATH } from "./cli.ts";
import { asPostgres, freePort, startCluster, type TestCluster } from "./pg_cluster.ts";

const REPO = join(SCRIPT_PATH, "..", "..");

/** What one command line as `postgres` produced. */
export interface PostgresRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A cluster archiving into a store, and the command line as its user. */
export interface ArchivingCluster {
  cluster: TestCluster;
  /** The settings file every run uses (`backupDir`, `database`). */
  configPath: string;
  /** The store (a directory the server's user owns, or an S3 URL). */
  backupDir: string;
  /** The `archive_command` it runs (our `wal-push` into the store): for a second server. */
  archiveCommand: string;
  /** Runs `backup-manager --config CONFIG <args>` as `postgres`. */
  cli(args: string[], options?: { cwd?: string }): Promise<PostgresRun>;
  /** A query on the cluster (as `postgres`, over TCP). */
  sql: postgres.Sql;
  /** Switches to a new WAL segment and waits until the archiver has pushed the old one. */
  archiveCurrent(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startArchivingCluster}. */
export interface ArchivingOptions {
  /** The test's directory (made readable by `postgres`). */
  root: string;
  /** Store; default `<root>/store`. */
  backupDir?: string;
  /** Extra settings in the config file (`encryption`, `s3`, `pitr`). */
  config?: Record<string, unknown>;
  /** Extra environment of every run and of the archiver (S3 credentials). */
  env?: Record<string, string>;
}

/**
 * Starts a cluster with `archive_mode = on`, `archive_timeout = 1s`, `track_commit_timestamp`
 * (the tests' oracle of when each row committed) and `archive_command` running our `wal-push`.
 */
export async function startArchivingCluster(options: ArchivingOptions): Promise<ArchivingCluster> {
  const repo = await readableRepo();
  const { root } = options;
  await Deno.chmod(root, 0o755);
  await sh("chown", ["postgres", root]);
  const backupDir = options.backupDir ?? join(root, "store");
  if (!/^s3:/.test(backupDir)) {
    await Deno.mkdir(backupDir, { recursive: true });
    await sh("chown", ["-R", "postgres", backupDir]);
  }
  const denoDir = join(root, "deno-dir");
  await Deno.mkdir(denoDir);
  await sh("chown", ["postgres", denoDir]);
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: root,
    DENO_DIR: denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
    ...options.env,
  };
  const cluster = await startCluster({
    settings: { archive_mode: "on", archive_timeout: "1", track_commit_timestamp: "on" },
  });
  const configPath = join(root, "backup-manager.json");
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({ backupDir, database: cluster.url, timezone: "UTC", ...options.config }),
  );
  await Deno.chmod(configPath, 0o644);
  const script = join(repo, "scripts", "backup-manager.ts");
  const command = (args: string[]) => [
    "env",
    "-i",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    script,
    "--config",
    configPath,
    ...args,
  ];
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const archive = command(["wal-push", "%p"]).map(shellQuote).join(" ").replace("'%p'", "%p");
  await sql.unsafe(`ALTER SYSTEM SET archive_command = '${archive.replace(/'/g, "''")}'`);
  await sql.unsafe("SELECT pg_reload_conf()");
  const cli = async (args: string[], runOptions: { cwd?: string } = {}) => {
    const output = await new Deno.Command("runuser", {
      args: ["-u", "postgres", "--", ...command(args)],
      cwd: runOptions.cwd ?? root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  };
  return {
    cluster,
    archiveCommand: archive,
    configPath,
    backupDir,
    cli,
    sql,
    async archiveCurrent() {
      const [{ name }] = await sql.unsafe(
        "SELECT pg_walfile_name(pg_switch_wal()) AS name",
      );
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [row] = await sql.unsafe(
          "SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver",
        );
        if (row.last_archived_wal !== null && row.last_archived_wal >= name) return;
        if (Date.now() > deadline) {
          throw new Error(
            `WAL ${name} was not archived in 60 s (last failed: ${row.last_failed_wal})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      await sql.end();
      await cluster.stop();
    },
  };
}

/**
 * Starts a server on a restored (and promoted) data directory, as `postgres`, archiving with
 * `archiveCommand` (default: nothing is archived); returns its stop.
 */
export async function startRestored(
  dir: string,
  socketDir: string,
  port: number,
  archiveCommand = "",
): Promise<() => Promise<void>> {
  const bin = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";
  await sh("chown", ["postgres", socketDir]);
  if (archiveCommand) {
    // in the file, not on pg_ctl's command line (a shell would read its quotes)
    const auto = join(dir, "postgresql.auto.conf");
    const text = await Deno.readTextFile(auto);
    await Deno.writeTextFile(
      auto,
      `${text}archive_mode = on\narchive_command = '${archiveCommand.replace(/'/g, "''")}'\n`,
    );
  }
  const pgCtl = (args: string[]) => asPostgres(`${bin}/pg_ctl`, ["-D", dir, ...args]);
  await pgCtl([
    "-w",
    "-l",
    join(socketDir, "server.log"),
    "-o",
    `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1` +
    (archiveCommand ? "" : " -c archive_command="),
    "start",
  ]);
  return async () => {
    await pgCtl(["-m", "fast", "-w", "stop"]).catch(() => {});
  };
}

let copied: Promise<string> | undefined;

/** The checkout when `postgres` can read it; otherwise a readable copy (made once). */
function readableRepo(): Promise<string> {
  copied ??= (async () => {
    const probe = await new Deno.Command("runuser", {
      args: ["-u", "postgres", "--", "test", "-r", join(REPO, "node_modules", ".deno")],
      stdout: "null",
      stderr: "null",
    }).output();
    if (probe.success) return REPO;
    const copy = await Deno.makeTempDir({ prefix: "backup-manager-repo-" });
    await Deno.chmod(copy, 0o755);
    for (const name of ["deno.json", "deno.lock", "mod.ts", "scripts", "src", "node_modules"]) {
      await sh("cp", ["-a", join(REPO, name), join(copy, name)]);
    }
    await sh("chmod", ["-R", "a+rX", copy]);
    globalThis.addEventListener("unload", () => Deno.removeSync(copy, { recursive: true }));
    return copy;
  })();
  return copied;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function sh(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/**
 * Starts a server on restored data directory `dir` (its socket in `<root>/socket-<name>`, a free
 * port, nothing archived), runs `fn` with a client of it, and stops it.
 */
export async function withRestored<T>(
  dir: string,
  root: string,
  name: string,
  fn: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const socketDir = join(root, `socket-${name}`);
  await Deno.mkdir(socketDir);
  const port = await freePort();
  const stop = await startRestored(dir, socketDir, port);
  const sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    onnotice: () => {},
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
    await stop();
  }
}
