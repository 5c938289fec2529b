/**
 * A real S3 server for tests: Ceph's radosgw on one monitor and one memstore OSD, all on
 * 127.0.0.1 with free ports and a temporary directory, so several test processes can run at once.
 * `s3Server()` shares one per process (tests isolate themselves by bucket); `startS3Server()`
 * gives a private one for tests that stop or kill it. With `TEST_S3_ENDPOINT` set, tests use that
 * server instead and nothing is started.
 *
 * As a script (`deno run -A tests/helpers/s3_server.ts`) it starts one, prints the `TEST_S3_*`
 * variables and stays up until SIGINT/SIGTERM.
 *
 * The tuning follows /work/shared/ECOSYSTEM.md ("Real servers for tests"), where each setting's
 * effect on start time and reliability was measured.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** Fixed keys of the test user: a throwaway server, never a real account. */
const ACCESS_KEY_ID = "BMTESTACCESSKEY00001";
const SECRET_ACCESS_KEY = "bm-test-secret-key-0000000000000000000001";

/** A running S3 server and how to reach it. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` and `AWS_ENDPOINT_URL`. */
  env: Record<string, string>;
  /** Creates a bucket (a unique name when none is given) and returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops every daemon and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs radosgw only, to simulate a server that dies mid-request. */
  kill(): Promise<void>;
  /** Starts radosgw again after `kill()`: same port, same data (the OSD kept running). */
  restart(): Promise<void>;
  /** SIGSTOPs radosgw: it accepts connections and never answers, like a hung server. */
  pause(): Promise<void>;
  /** SIGCONTs radosgw after `pause()`. */
  resume(): Promise<void>;
}

let shared: Promise<S3Server> | undefined;

/**
 * The process's shared server, started on first call (about 2-3 s) and stopped when the process
 * unloads (or by `stop()`, after which the next call starts a new one). Tests use their own
 * buckets on it.
 */
export function s3Server(): Promise<S3Server> {
  if (!shared) {
    const starting: Promise<S3Server> = startS3Server().then((server) => ({
      ...server,
      stop: async () => {
        if (shared === starting) shared = undefined;
        await server.stop();
      },
    }));
    starting.catch(() => {
      if (shared === starting) shared = undefined;
    });
    shared = starting;
  }
  return shared;
}

/** A private server, for tests that stop or kill it; the caller stops it in `finally`. */
export async function startS3Server(): Promise<S3Server> {
  const external = Deno.env.get("TEST_S3_ENDPOINT");
  if (external) {
    return serverApi(
      external,
      Deno.env.get("TEST_S3_ACCESS_KEY_ID") ?? "",
      Deno.env.get("TEST_S3_SECRET_ACCESS_KEY") ?? "",
      {
        stop: () => Promise.resolve(),
        kill: () => Promise.reject(new Error("Cannot kill TEST_S3_ENDPOINT's server")),
        restart: () => Promise.reject(new Error("Cannot restart TEST_S3_ENDPOINT's server")),
        pause: () => Promise.reject(new Error("Cannot pause TEST_S3_ENDPOINT's server")),
        resume: () => Promise.reject(new Error("Cannot resume TEST_S3_ENDPOINT's server")),
      },
    );
  }
  await removeAbandonedDirs();
  const { cluster, onUnload } = await startCluster();
  return serverApi(`http://127.0.0.1:${cluster.rgwPort}`, ACCESS_KEY_ID, SECRET_ACCESS_KEY, {
    stop: async () => {
      await cluster.stop();
      globalThis.removeEventListener("unload", onUnload);
    },
    kill: () => cluster.killRgw(),
    restart: () => cluster.startRgw(),
    pause: () => Promise.resolve(cluster.signalRgw("SIGSTOP")),
    resume: () => Promise.resolve(cluster.signalRgw("SIGCONT")),
  });
}

/**
 * Starts a cluster in a fresh directory, trying again (new ports) when a start fails: the usual
 * cause is another test process taking a port between our probe and the daemon's bind.
 */
async function startCluster(attempts = 3): Promise<{ cluster: CephCluster; onUnload: () => void }> {
  for (let attempt = 1;; attempt++) {
    const dir = await Deno.makeTempDir({ prefix: DIR_PREFIX });
    await Deno.writeTextFile(join(dir, OWNER_FILE), String(Deno.pid));
    const cluster = new CephCluster(dir);
    // stopSync, not stop: an unload handler cannot wait for promises
    const onUnload = () => cluster.stopSync();
    globalThis.addEventListener("unload", onUnload);
    try {
      await cluster.start();
      return { cluster, onUnload };
    } catch (error) {
      await cluster.stop();
      globalThis.removeEventListener("unload", onUnload);
      if (attempt >= attempts) throw error;
      console.error(`s3_server: start ${attempt} of ${attempts} failed, trying again: ${error}`);
    }
  }
}

type Lifecycle = Pick<S3Server, "stop" | "kill" | "restart" | "pause" | "resume">;

function serverApi(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
  lifecycle: Lifecycle,
): S3Server {
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: endpoint,
    },
    createBucket: async (name = uniqueBucketName()) => {
      const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
      return name;
    },
    ...lifecycle,
  };
}

const DIR_PREFIX = "backup-manager-s3-";
const OWNER_FILE = "owner.pid";

/**
 * Removes the directories of servers whose test process was killed before its unload handler
 * ran (their daemons died with it, through `--pdeathsig`). Directories of live processes stay.
 */
async function removeAbandonedDirs(): Promise<void> {
  for await (const entry of Deno.readDir(tmpdir())) {
    if (!entry.isDirectory || !entry.name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry.name);
    try {
      const owner = (await Deno.readTextFile(join(dir, OWNER_FILE))).trim();
      if (await exists(`/proc/${owner}`)) continue;
      await Deno.remove(dir, { recursive: true });
    } catch {
      // no owner file (another version, or still being set up), or removed meanwhile
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

let bucketCounter = 0;

function uniqueBucketName(): string {
  const random = crypto.randomUUID().slice(0, 8);
  return `test-${Date.now().toString(36)}-${random}-${++bucketCounter}`;
}

/** One monitor, one OSD and one radosgw, as child processes of this process. */
class CephCluster {
  readonly dir: string;
  readonly conf: string;
  monPort = 0;
  rgwPort = 0;
  #children: Deno.ChildProcess[] = [];
  #rgw: Deno.ChildProcess | undefined;
  /** Children killed on purpose, whose exit is no news. */
  readonly #killed = new Set<Deno.ChildProcess>();
  /** Set once the whole cluster is up; before that, a failed start reports its own error. */
  #started = false;
  #stopped = false;

  constructor(dir: string) {
    this.dir = dir;
    this.conf = join(dir, "ceph.conf");
  }

  async start(): Promise<void> {
    this.monPort = await freePort();
    this.rgwPort = await freePort();
    const fsid = crypto.randomUUID();
    const osdUuid = crypto.randomUUID();
    const monAddr = `v1:127.0.0.1:${this.monPort}`;
    await Deno.writeTextFile(this.conf, this.#config(fsid, monAddr));
    const keyring = join(this.dir, "keyring");
    await run("ceph-authtool", [
      "--create-keyring",
      keyring,
      "--gen-key",
      "-n",
      "mon.",
      "--cap",
      "mon",
      "allow *",
    ]);
    await run("ceph-authtool", [
      keyring,
      "--gen-key",
      "-n",
      "client.admin",
      "--cap",
      "mon",
      "allow *",
      "--cap",
      "osd",
      "allow *",
      "--cap",
      "mgr",
      "allow *",
    ]);
    const monmap = join(this.dir, "monmap");
    await run("monmaptool", ["--create", "--fsid", fsid, "--add", "a", monAddr, monmap]);
    await Deno.mkdir(join(this.dir, "mon"));
    await Deno.mkdir(join(this.dir, "osd"));
    await Deno.mkdir(join(this.dir, "rgw"));
    await run("ceph-mon", [
      "-c",
      this.conf,
      "--mkfs",
      "-i",
      "a",
      "--monmap",
      monmap,
      "--keyring",
      keyring,
    ]);
    const mon = this.#spawn("ceph-mon", ["-c", this.conf, "-f", "-i", "a"]);
    await waitForListener("ceph-mon", mon, this.monPort, () => this.#log("mon.a.log"));
    const osdId = (await retry(() => this.#ceph(["osd", "new", osdUuid]))).trim();
    await run("ceph-osd", [
      "-c",
      this.conf,
      "-i",
      osdId,
      "--mkfs",
      "--osd-uuid",
      osdUuid,
    ]);
    this.#spawn("ceph-osd", ["-c", this.conf, "-f", "-i", osdId]);
    await retry(() => this.#ceph(["osd", "crush", "add", `osd.${osdId}`, "1.0", "root=default"]));
    await this.startRgw();
    await retry(() =>
      run("radosgw-admin", [
        "-c",
        this.conf,
        "-n",
        "client.admin",
        "user",
        "create",
        "--uid=test",
        "--display-name=test",
        `--access-key=${ACCESS_KEY_ID}`,
        `--secret-key=${SECRET_ACCESS_KEY}`,
      ])
    );
    this.#started = true;
  }

  /** Starts radosgw and waits until it listens. */
  async startRgw(): Promise<void> {
    this.#rgw = this.#spawn("radosgw", ["-c", this.conf, "-f", "-n", "client.rgw.a"]);
    await waitForListener("radosgw", this.#rgw, this.rgwPort, () => this.#log("rgw.log"));
  }

  signalRgw(signal: Deno.Signal): void {
    kill(this.#rgw, signal);
  }

  /** Kills radosgw only; the rest stays up until `stop()`. */
  async killRgw(): Promise<void> {
    if (this.#rgw) this.#killed.add(this.#rgw);
    kill(this.#rgw, "SIGKILL");
    await reaped(this.#rgw);
  }

  /**
   * Kills every daemon with SIGKILL (memstore writes its whole RAM to disk on a clean stop, and
   * nothing here needs to survive), waits for them and removes the directory. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopSync();
    await Promise.all(this.#children.map(reaped));
  }

  /** `stop()` without waiting for the processes to be reaped: for an `unload` handler. */
  stopSync(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const child of this.#children) kill(child, "SIGKILL");
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // already gone
    }
  }

  /**
   * Starts a daemon in the foreground as our child. `setpriv --pdeathsig KILL` makes the kernel
   * kill it when this process dies without running its unload handler (SIGKILL, a crash), so no
   * ceph process outlives a test run.
   */
  #spawn(command: string, args: string[]): Deno.ChildProcess {
    const child = new Deno.Command("setpriv", {
      args: ["--pdeathsig", "KILL", "--", command, ...args],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    this.#children.push(child);
    child.status.then((status) => {
      if (!this.#started || this.#stopped || this.#killed.has(child)) return;
      // a daemon that dies by itself explains the failures that follow: say so, with its log
      const logName = command === "radosgw"
        ? "rgw.log"
        : command === "ceph-mon"
        ? "mon.a.log"
        : "osd.0.log";
      console.error(
        `s3_server: ${command} exited by itself (${status.signal ?? `code ${status.code}`}); ` +
          `last lines of ${logName}:\n${this.#log(logName)}`,
      );
    });
    return child;
  }

  #ceph(args: string[]): Promise<string> {
    return run("ceph", ["-c", this.conf, "--connect-timeout", "10", ...args]);
  }

  #log(name: string): string {
    try {
      return Deno.readTextFileSync(join(this.dir, name)).split("\n").slice(-20).join("\n");
    } catch {
      return "";
    }
  }

  #config(fsid: string, monAddr: string): string {
    const d = this.dir;
    return `[global]
fsid = ${fsid}
mon host = ${monAddr}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
mon allow pool size one = true
mon allow pool delete = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 2147483648
osd crush update on start = false
osd class update on start = false
paxos propose interval = 0.05
paxos min wait = 0.01
run dir = ${d}
log file = ${d}/$name.log
admin socket = ${d}/$name.asok
pid file = ${d}/$name.pid
keyring = ${d}/keyring
mon data avail warn = 1
mon data avail crit = 0

[mon.a]
mon data = ${d}/mon

[osd.0]
osd data = ${d}/osd
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
# tcp_nodelay: without it every reply with a body waits ~45 ms for Nagle (200-250 ms a create)
rgw frontends = beast endpoint=127.0.0.1:${this.rgwPort} tcp_nodelay=1
rgw data = ${d}/rgw
log file = ${d}/rgw.log
rgw enable lc threads = false
rgw gc obj min wait = 30
rgw gc processor period = 30
`;
  }
}

/** Waits for a child to exit; ref'ed meanwhile, or an unref'ed child's exit would not be awaited. */
async function reaped(child: Deno.ChildProcess | undefined): Promise<void> {
  if (!child) return;
  child.ref();
  await child.status;
}

function kill(child: Deno.ChildProcess | undefined, signal: Deno.Signal): void {
  try {
    child?.kill(signal);
  } catch {
    // already exited
  }
}

/** Runs a command to completion; throws with its stderr unless it exits 0. Returns stdout. */
export async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${output.code}): ${decoder.decode(output.stderr)}`,
    );
  }
  return decoder.decode(output.stdout);
}

/** Retries a step that can fail right after a daemon starts (EPERM before the mon settles). */
async function retry<T>(step: () => Promise<T>, attempts = 40, delayMs = 250): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Waits until `child` itself listens on `port`. Answering on the port is not enough: another test
 * process may have taken the port between our free-port probe and the daemon's bind, and the
 * daemon then exits (code 98) while the port answers for someone else's server.
 */
async function waitForListener(
  name: string,
  child: Deno.ChildProcess,
  port: number,
  log: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (exited) {
      throw new Error(
        `${name} exited (code ${exited.code}) before listening on port ${port}:\n${log()}`,
      );
    }
    if (await listensOn(child.pid, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not listen on port ${port} within ${timeoutMs} ms:\n${log()}`);
}

/** Whether process `pid` holds a listening TCP socket on `port` (Linux `/proc`). */
async function listensOn(pid: number, port: number): Promise<boolean> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st ... inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue; // 0A: LISTEN
      if (parseInt(fields[1].split(":")[1], 16) === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return false;
  try {
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      const link = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) return true;
    }
  } catch {
    // the process is gone
  }
  return false;
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return await Promise.resolve(port);
}

if (import.meta.main) {
  const started = performance.now();
  const server = await startS3Server();
  console.log(`TEST_S3_ENDPOINT=${server.endpoint}`);
  console.log(`TEST_S3_ACCESS_KEY_ID=${server.accessKeyId}`);
  console.log(`TEST_S3_SECRET_ACCESS_KEY=${server.secretAccessKey}`);
  console.error(
    `started in ${Math.round(performance.now() - started)} ms; SIGINT/SIGTERM stops it`,
  );
  const keepAlive = setInterval(() => {}, 60_000);
  const stop = async () => {
    clearInterval(keepAlive);
    await server.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
