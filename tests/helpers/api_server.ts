/**
 * A real `backup-manager serve` for tests, in-process through the command line: a temporary
 * workspace with a SQLite database (or a database on a throwaway PostgreSQL cluster), a config
 * file with an admin and a viewer token (hashed), a free port. `stop()` sends the signal a
 * person would and waits for the server to exit.
 */
import { join } from "node:path";
import { run } from "../../src/cli/main.ts";
import type { Io } from "../../src/cli/io.ts";
import { Interrupts } from "../../src/cli/interrupts.ts";
import { systemClock } from "../../src/core/clock.ts";
import { newToken } from "../../src/api/auth.ts";
import { makeDatabase } from "./workspace.ts";
import { startCluster, type TestCluster } from "./pg_cluster.ts";
import { createDatabase, psql, uniqueName } from "./pg_tools.ts";

/** A running server and what it serves. */
export interface ApiFixture {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  adminToken: string;
  viewerToken: string;
  /** The store. */
  dir: string;
  /** The database's location (a file path, or a `postgres://` URL). */
  database: string;
  /** The temporary workspace (removed by `stop`). */
  root: string;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** `fetch(url + path)` with the admin token unless `token` says otherwise (`null`: none). */
  request(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  /** Sends one signal, waits for the exit code, removes the workspace. */
  stop(): Promise<number>;
}

/** Options of {@linkcode startApiFixture}. */
export interface ApiFixtureOptions {
  /** Default `sqlite`. */
  engine?: "sqlite" | "postgres";
  /** Backups made before the server starts (through the CLI). Default 0. */
  backups?: number;
  /** Rows in the SQLite database's `events`. Default 5. */
  events?: number;
  /** Settings merged into the config file (e.g. `{ retention: { keepLast: 1 } }`). */
  config?: Record<string, unknown>;
  /** Environment of the server. */
  env?: Record<string, string>;
  /** Extra `serve` flags. */
  args?: string[];
  /** A PostgreSQL cluster to use (else one is started and stopped with the fixture). */
  cluster?: TestCluster;
}

const PG_SCHEMA = `
  CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric);
  CREATE TABLE events (id bigint, payload bytea);
  INSERT INTO accounts SELECT g, 'name ' || g, g * 1.5 FROM generate_series(1, 200) g;
  INSERT INTO events SELECT g, '\\x00ff'::bytea FROM generate_series(1, 100) g;`;

/** Starts a server (see the module comment). */
export async function startApiFixture(options: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const root = await Deno.makeTempDir({ prefix: "backup-manager-api-" });
  let cluster: TestCluster | undefined;
  let ownCluster = false;
  try {
    const dir = join(root, "backups");
    let database: string;
    if (options.engine === "postgres") {
      cluster = options.cluster ?? await startCluster();
      ownCluster = options.cluster === undefined;
      database = await createDatabase(cluster.url, uniqueName("api"));
      await psql(database, PG_SCHEMA);
    } else {
      database = join(root, "app.db");
      makeDatabase(database, { events: options.events ?? 5 });
    }
    const admin = newToken();
    const viewer = newToken();
    const configPath = join(root, "backup-manager.json");
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        database,
        backupDir: dir,
        timezone: "UTC",
        ...options.config,
        api: {
          tokens: [
            { name: "ops", sha256: admin.sha256, role: "admin" },
            { name: "grafana", sha256: viewer.sha256, role: "viewer" },
          ],
          ...(options.config?.api as object | undefined),
        },
      }),
    );
    let output = "";
    const io: Io = {
      stdout: (text) => output += text,
      stderr: (text) => output += text,
      isTerminal: false,
      prompt: () => Promise.resolve(null),
      env: { ...options.env },
      cwd: root,
    };
    for (let i = 0; i < (options.backups ?? 0); i++) {
      const code = await run(["--config", configPath, "create"], io, systemClock);
      if (code !== 0) throw new Error(`create failed before the server started: ${output}`);
    }
    const interrupts = new Interrupts();
    const exited = run(
      ["--config", configPath, "serve", "--listen", "127.0.0.1:0", ...(options.args ?? [])],
      io,
      systemClock,
      interrupts,
    );
    let url: string | undefined;
    const early = exited.then((code) => {
      throw new Error(`serve exited with ${code} before listening: ${output}`);
    });
    for (let waited = 0; !url; waited += 20) {
      url = /serving the API and dashboard on (\S+?);/.exec(output)?.[1];
      if (url) break;
      if (waited > 20_000) throw new Error(`serve did not start: ${output}`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), early]);
    }
    early.catch(() => {});
    const base = url;
    return {
      url: base,
      adminToken: admin.token,
      viewerToken: viewer.token,
      dir,
      database,
      root,
      output: () => output,
      request: (path, init = {}) => {
        const { token, ...rest } = init;
        const headers = new Headers(rest.headers);
        const used = token === undefined ? admin.token : token;
        if (used !== null) headers.set("authorization", `Bearer ${used}`);
        return fetch(base + path, { ...rest, headers });
      },
      stop: async () => {
        try {
          interrupts.receive();
          return await exited;
        } finally {
          if (ownCluster) await cluster?.stop();
          await Deno.remove(root, { recursive: true }).catch(() => {});
        }
      },
    };
  } catch (error) {
    if (ownCluster) await cluster?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw error;
  }
}
