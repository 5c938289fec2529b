/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temporary directory as the `postgres`
 * user, a free port, a unix socket in that directory; stopped and removed by `stop()`. When
 * `TEST_DATABASE_URL` is set, tests use that server instead and nothing is started.
 */
import { join } from "node:path";
import { createServer } from "node:net";

const BIN = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";

/** A running server and how to reach it. */
export interface TestCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (no password: trust auth). */
  url: string;
  host: string;
  port: number;
  /** Directory holding the unix socket. */
  socketDir: string;
  stop(): Promise<void>;
}

/** Options of {@linkcode startCluster}. */
export interface StartClusterOptions {
  /**
   * Keep the cluster in this directory (created if missing, initdb only the first time) instead
   * of a temporary one, and leave it on disk at `stop()`: for benchmarks that reuse databases.
   * Default: a temporary directory, removed at `stop()`.
   */
  directory?: string;
  /** Extra server settings (`-c name=value`), e.g. `{ shared_buffers: "256MB" }`. Default none. */
  settings?: Record<string, string | number>;
}

/** Starts a cluster (about a second), or wraps `TEST_DATABASE_URL`. */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const external = Deno.env.get("TEST_DATABASE_URL");
  if (external) {
    const url = new URL(external);
    return {
      url: external,
      host: url.hostname,
      port: Number(url.port || 5432),
      socketDir: "",
      stop: () => Promise.resolve(),
    };
  }
  const dir = options.directory ??
    await Deno.makeTempDir({ prefix: "backup-manager-pg-" });
  await Deno.mkdir(dir, { recursive: true });
  await run("chown", ["postgres", dir]);
  const data = join(dir, "data");
  const port = await freePort();
  if (!await exists(join(data, "PG_VERSION"))) {
    await asPostgres(`${BIN}/initdb`, [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "postgres",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ]);
  }
  const settings = Object.entries(options.settings ?? {}).map(([k, v]) => ` -c ${k}=${v}`);
  await asPostgres(`${BIN}/pg_ctl`, [
    "-D",
    data,
    "-w",
    "-l",
    join(dir, "server.log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off` +
    settings.join(""),
    "start",
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    socketDir: dir,
    stop: async () => {
      if (options.directory) {
        await asPostgres(`${BIN}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"]);
        return;
      }
      await asPostgres(`${BIN}/pg_ctl`, ["-D", data, "-m", "immediate", "stop"]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => typeof address === "object" && address ? resolve(address.port) : reject());
    });
  });
}

/** Runs `command` as the `postgres` user (when this process is root); throws with its stderr. */
export function asPostgres(command: string, args: string[]): Promise<void> {
  return Deno.uid() === 0
    ? run("runuser", ["-u", "postgres", "--", command, ...args])
    : run(command, args);
}

async function run(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
}
