/**
 * The database server dying under a run, for the failure drills: `pg_ctl stop -m immediate` (no
 * shutdown checkpoint, every session cut as a crash would) on a cluster that
 * {@linkcode startCluster} started, and a start again on the same data directory and port, which
 * runs crash recovery as a real server would after a power cut.
 */
import { join } from "node:path";
import type { TestCluster } from "./pg_cluster.ts";
import { PG_BIN } from "./pg_tools.ts";

/** The data directory of a cluster {@linkcode startCluster} made (`<socketDir>/data`). */
function dataDirectory(cluster: TestCluster): string {
  if (!cluster.socketDir) throw new Error("Cannot stop a server the tests did not start");
  return join(cluster.socketDir, "data");
}

/** Kills the server at once, as a crash does: `pg_ctl stop -m immediate`. */
export async function crashServer(cluster: TestCluster): Promise<void> {
  await pgCtl(["-D", dataDirectory(cluster), "-m", "immediate", "-w", "stop"]);
}

/** Starts the server again on the same data directory, port and socket (crash recovery first). */
export async function startServerAgain(cluster: TestCluster): Promise<void> {
  // right after an immediate stop the old postmaster's sockets may still be closing: retry
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(cluster);
    } catch (error) {
      if (attempt >= 5) {
        const log = await Deno.readTextFile(join(cluster.socketDir, "server.log")).catch(() => "");
        throw new Error(`${error}; server.log ends: ${log.slice(-2500)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/**
 * Removes the `postmaster.pid` of a postmaster that is gone or a zombie: in a container whose
 * first process does not reap orphans, a crashed postmaster stays a zombie, and the next start
 * takes its pid file for a live server.
 */
async function removeDeadPidFile(cluster: TestCluster): Promise<void> {
  const pidFile = join(dataDirectory(cluster), "postmaster.pid");
  const text = await Deno.readTextFile(pidFile).catch(() => "");
  const pid = Number(text.split("\n")[0]);
  if (!pid) return;
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  if (stat === "" || state === "Z") await Deno.remove(pidFile).catch(() => {});
}

async function startOnce(cluster: TestCluster): Promise<void> {
  await removeDeadPidFile(cluster);
  await pgCtl([
    "-D",
    dataDirectory(cluster),
    "-w",
    "-l",
    join(cluster.socketDir, "server.log"),
    "-o",
    `-p ${cluster.port} -k ${cluster.socketDir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    "-c full_page_writes=off",
    "start",
  ]);
}

async function pgCtl(args: string[]): Promise<void> {
  const [command, all] = Deno.uid() === 0
    ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, "pg_ctl"), ...args]]
    : [join(PG_BIN, "pg_ctl"), args];
  const output = await new Deno.Command(command as string, {
    args: all as string[],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`pg_ctl ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}
