/**
 * `restore --at … --check`: starts a throwaway server on a restored data directory (a free port,
 * no TCP, its socket in a temporary directory, its WAL not archived anywhere), waits until
 * recovery has finished and the server is promoted, reads what it recovered to, and stops it.
 * What recovery reported (the FATAL line when it failed) is what the user sees.
 */
import { createServer } from "node:net";
import { DatabaseError, UsageError } from "../core/errors.ts";
import { type ConnectionConfig, openConnection } from "../engines/postgres/postgres_engine.ts";
import { pgBinary, type PgBinaryOptions } from "./pg_binaries.ts";

/** What the check found. */
export interface CheckResult {
  /** The last transaction recovery replayed (its commit time), when any was. */
  lastReplayedAt?: string;
  /** The timeline the server was promoted to. */
  timeline: number;
  /** WAL files recovery restored from the archive. */
  walRestored: number;
  /** Databases in the recovered cluster (templates left out). */
  databases: string[];
}

/** Options of {@linkcode checkRestoredServer}. */
export interface CheckOptions extends PgBinaryOptions {
  /** Who to connect as, and with what password (the cluster's own roles, over its socket). */
  user: string;
  password?: string;
  database: string;
  /** Give up when recovery has not finished after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each line the server logs (progress on a terminal). */
  onLog?: (line: string) => void;
}

/** PostgreSQL does not run as root: a usage error (exit 2) before anything is written. */
export function refuseRoot(): void {
  if (Deno.uid() === 0) {
    throw new UsageError(
      "Cannot --check as root: PostgreSQL does not run as root; run the restore as the server's user (sudo -u postgres backup-manager restore …)",
    );
  }
}

/** Starts, checks and stops a server on `dir`. */
export async function checkRestoredServer(
  dir: string,
  options: CheckOptions,
): Promise<CheckResult> {
  refuseRoot();
  const socketDir = await Deno.makeTempDir({ prefix: "backup-manager-check-" });
  const port = await freePort();
  const child = new Deno.Command(pgBinary("postgres", options), {
    args: [
      "-D",
      dir,
      "-c",
      `port=${port}`,
      "-c",
      "listen_addresses=",
      "-c",
      `unix_socket_directories=${socketDir}`,
      // nothing is pushed from here (a throwaway's new timeline in the archive would lead later
      // restores astray), but what the promotion made waits, marked ready, for the server that
      // runs on this directory for real to archive it (its timeline history above all)
      "-c",
      "archive_mode=on",
      "-c",
      "archive_command=",
      "-c",
      "logging_collector=off",
      "-c",
      "hot_standby=on",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const log: string[] = [];
  let walRestored = 0;
  const reading = (async () => {
    let rest = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (/restored log file/.test(line)) walRestored++;
        log.push(line);
        if (log.length > 200) log.shift();
        options.onLog?.(line);
      }
    }
  })();
  const config: ConnectionConfig = {
    host: socketDir,
    port,
    user: options.user,
    password: options.password,
    database: options.database,
    sslMode: "disable",
    connectTimeout: 5,
  };
  try {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      if (exited) throw new DatabaseError(`The restored server stopped: ${fatalLine(log)}`);
      if (options.signal?.aborted) throw options.signal.reason;
      if (Date.now() > deadline) {
        throw new DatabaseError(
          `The restored server had not finished recovery after ${
            Math.round(options.timeoutMs / 1000)
          }s: ${fatalLine(log)}`,
        );
      }
      const promoted = await inRecovery(config).then((r) => r === false, () => false);
      if (promoted) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const connection = openConnection(config);
    try {
      await connection.sql.unsafe("CHECKPOINT");
      const [row] = await connection.sql.unsafe(
        `SELECT pg_last_xact_replay_timestamp() AS replayed,
                (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline,
                (SELECT array_agg(datname::text ORDER BY datname) FROM pg_database
                  WHERE NOT datistemplate) AS databases`,
      );
      return {
        ...(row.replayed ? { lastReplayedAt: new Date(row.replayed).toISOString() } : {}),
        timeline: Number(row.timeline),
        walRestored,
        databases: row.databases ?? [],
      };
    } finally {
      await connection.end();
    }
  } finally {
    if (!exited) {
      try {
        child.kill("SIGINT"); // fast shutdown
      } catch { /* gone */ }
    }
    await status;
    await reading.catch(() => {});
    await Deno.remove(socketDir, { recursive: true }).catch(() => {});
  }
}

/** `false` once the server is promoted; throws while it does not answer. */
async function inRecovery(config: ConnectionConfig): Promise<boolean> {
  const connection = openConnection(config);
  try {
    const [row] = await connection.sql.unsafe("SELECT pg_is_in_recovery() AS recovering");
    return row.recovering === true;
  } finally {
    await connection.end();
  }
}

/** The line that says why the server stopped (FATAL or PANIC), else its last line. */
function fatalLine(log: readonly string[]): string {
  const line = log.findLast((l) => /FATAL|PANIC/.test(l)) ?? log.at(-1) ?? "no output";
  return line.replace(/^.*?(FATAL|PANIC):\s*/, "");
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => typeof address === "object" && address ? resolve(address.port) : reject());
    });
  });
}
