/**
 * The stock PostgreSQL client tools as oracles for tests: `psql` and `pg_dump` run as child
 * processes. A connection URL's password travels only in `PGPASSWORD`, never in argv; the URL on
 * the command line has it removed.
 */
import { join } from "node:path";

/** Where the PostgreSQL 15 binaries are (`PG_BIN` overrides). */
export const PG_BIN: string = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";

const decoder = new TextDecoder();

/** A URL for the database `name` on the server of `url` (same user, host, port, options). */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.href;
}

/** The URL without its password, and the environment that carries the password. */
function connection(url: string): { dbname: string; env: Record<string, string> } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = "";
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: "10", PGAPPNAME: "backup-manager-test" };
  if (password) env.PGPASSWORD = password;
  return { dbname: parsed.href, env };
}

/** A `psql`/`pg_dump`-style command connected to `url`, all output piped. */
function toolCommand(
  tool: string,
  url: string,
  args: string[],
  stdin: "piped" | "null" = "null",
): Deno.Command {
  const { dbname, env } = connection(url);
  return new Deno.Command(join(PG_BIN, tool), {
    args: [...args, `--dbname=${dbname}`],
    env,
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** Fails with the tool's stderr unless it exited 0 and wrote no error to stderr. */
function check(what: string, output: Deno.CommandOutput): string {
  const stderr = decoder.decode(output.stderr);
  if (!output.success || /\b(ERROR|FATAL|PANIC):/.test(stderr)) {
    throw new Error(`${what} failed (exit ${output.code}): ${stderr.trim()}`);
  }
  return decoder.decode(output.stdout);
}

/** psql without ~/.psqlrc, stopping at the first error, quiet, unaligned tuples only. */
const PSQL_ARGS = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t"];

/** Runs SQL (any number of statements, psql meta-commands allowed) with psql; returns stdout. */
export async function psql(url: string, sql: string): Promise<string> {
  return await psqlInput(url, new TextEncoder().encode(sql), []);
}

/** Runs the SQL file `path` with psql, in one transaction when `singleTransaction`. */
export async function psqlFile(
  url: string,
  path: string,
  options: { singleTransaction?: boolean } = {},
): Promise<string> {
  const args = [...PSQL_ARGS, "-f", path];
  if (options.singleTransaction) args.push("--single-transaction");
  return check(`psql -f ${path}`, await toolCommand("psql", url, args).output());
}

/** Feeds `input` to psql on stdin with extra `args`; returns stdout. */
async function psqlInput(url: string, input: Uint8Array, args: string[]): Promise<string> {
  const child = toolCommand("psql", url, [...PSQL_ARGS, ...args], "piped").spawn();
  const writing = (async () => {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(input);
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  const output = await child.output();
  await writing.catch(() => {});
  return check("psql", output);
}

/**
 * Restores a gzip-compressed plain SQL file the way the README tells users to without our tool:
 * `gunzip -c FILE | psql -v ON_ERROR_STOP=1 --single-transaction` into `url`.
 */
export async function restoreWithPsql(url: string, gzFile: string): Promise<void> {
  const gunzip = new Deno.Command("gunzip", {
    args: ["-c", gzFile],
    stdout: "piped",
    stderr: "piped",
  });
  const psql = toolCommand("psql", url, [...PSQL_ARGS, "--single-transaction"], "piped");
  await pipeline(gunzip, psql, `gunzip -c ${gzFile} | psql`);
}

/** Runs `producer | consumer`; fails with the stderr of whichever failed. */
async function pipeline(producer: Deno.Command, consumer: Deno.Command, what: string) {
  const first = producer.spawn();
  const second = consumer.spawn();
  const piping = first.stdout.pipeTo(second.stdin).catch(() => {});
  const [stderr, status, output] = await Promise.all([
    new Response(first.stderr).arrayBuffer(),
    first.status,
    second.output(),
  ]);
  await piping;
  check(what, { ...status, stdout: new Uint8Array(), stderr: new Uint8Array(stderr) });
  check(what, output);
}

/** Runs `pg_dump` with `args` against `url`; returns its output (plain SQL). */
export async function pgDump(url: string, args: string[] = []): Promise<string> {
  return check(`pg_dump ${args.join(" ")}`, await toolCommand("pg_dump", url, args).output());
}

/** Copies database `from` into the empty database `to` with `pg_dump | psql`. */
export async function copyWithPgDump(from: string, to: string): Promise<void> {
  const load = toolCommand("psql", to, [...PSQL_ARGS, "--single-transaction"], "piped");
  await pipeline(toolCommand("pg_dump", from, []), load, "pg_dump | psql");
}

/** Creates database `name` on the server of `url` (UTF8, template0); returns its URL. */
export async function createDatabase(url: string, name: string): Promise<string> {
  await psql(url, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING 'UTF8'`);
  return databaseUrl(url, name);
}

/** Drops database `name` if it exists, disconnecting its sessions. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await psql(url, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Whether database `name` exists on the server of `url`. */
export async function databaseExists(url: string, name: string): Promise<boolean> {
  const out = await psql(url, `SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(name)}`);
  return out.trim() === "1";
}

/** `"name"` with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'` with embedded quotes doubled (standard_conforming_strings on). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A database name no other test uses at the same time: `<prefix>_<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}
