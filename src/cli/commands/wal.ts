import type { Command } from "npm:commander@15.1.0";
import { basename, resolve } from "node:path";
import {
  type CommandDeps,
  locationFlags,
  settingsFor,
  withIdentityOption,
  withLocationOptions,
} from "../deps.ts";
import { BackupManagerError, ExitCode, messageOf } from "../../core/errors.ts";
import { fetchWal, pushWal } from "../../pitr/pg_wal_archive.ts";
import { parseRecipients, readIdentityFile } from "../../core/crypto/age.ts";
import { pitrLocation } from "../pitr_store.ts";

/**
 * Exit code of a `wal-fetch` that failed for any reason but "not archived": above 125, which
 * PostgreSQL takes as "stop recovery" instead of "the archive ends here" (it would promote at
 * the wrong point on a store that is only unreachable or a file that fails its checksum).
 */
export const WAL_FETCH_FAILED = 255;

const PUSH_HELP = `
PostgreSQL's archive_command: stores the WAL file at PATH (relative to the data directory, as
the archiver gives %p) in <backupDir>/pitr/ as wal.<name>.gz (compressed, encrypted for
encryption.recipients when set) with its SHA-256 in wal.<name>.json, written last. Pushing a file
that is archived already succeeds when its content is the same and fails (exit ${ExitCode.Integrity})
when it differs. Quiet on success; any failure exits non-zero, and PostgreSQL retries.

In postgresql.conf (the server runs it as its own user, in its data directory: that user must
read the settings file and write the store):
  archive_mode = on
  archive_command = '/usr/bin/deno run -A --cached-only /opt/backup-manager/scripts/backup-manager.ts --config /etc/backup-manager.json wal-push %p'`;

const FETCH_HELP = `
PostgreSQL's restore_command (restore --at ... --to-datadir writes it): writes archived WAL file
NAME to PATH, checked against its SHA-256, under a temporary name then renamed. Exits 1 quietly
when the archive does not hold NAME (PostgreSQL asks past the end of the archive: normal), and
${WAL_FETCH_FAILED} on any other failure (a store that cannot be read, a checksum mismatch), which
makes PostgreSQL stop recovery rather than end it early.`;

/** Options both commands take. */
interface WalArgs {
  dir?: string;
  identity?: string;
}

/** `wal-push PATH`. */
export async function runWalPush(path: string, args: WalArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  const { store } = pitrLocation(config, deps);
  const recipients = config.encryption.recipients.length
    ? parseRecipients(config.encryption.recipients, "encryption.recipients")
    : [];
  const full = resolve(deps.io.cwd ?? Deno.cwd(), path);
  await pushWal(store, full, basename(full), { recipients, now: deps.clock.now() });
  return ExitCode.Ok;
}

/** `wal-fetch NAME PATH`: 0 fetched, 1 not archived, {@linkcode WAL_FETCH_FAILED} otherwise. */
export async function runWalFetch(
  name: string,
  path: string,
  args: WalArgs,
  deps: CommandDeps,
): Promise<number> {
  try {
    const config = settingsFor(deps, locationFlags(args));
    const { store } = pitrLocation(config, deps);
    const identityFile = config.encryption.identityFile;
    const identities = identityFile ? await readIdentityFile(identityFile) : [];
    const full = resolve(deps.io.cwd ?? Deno.cwd(), path);
    return await fetchWal(store, name, full, identities) ? ExitCode.Ok : ExitCode.Failure;
  } catch (error) {
    deps.io.stderr(
      `Error: wal-fetch ${name}: ${
        error instanceof BackupManagerError ? error.message : messageOf(error)
      }\n`,
    );
    return WAL_FETCH_FAILED;
  }
}

/** Registers `wal-push` and `wal-fetch`. */
export function registerWal(program: Command, deps: CommandDeps): void {
  const push = program.command("wal-push")
    .description("PostgreSQL archive_command: store one WAL file (wal-push %p)")
    .argument("<path>", "the WAL file (%p: relative to the data directory)")
    .addHelpText("after", PUSH_HELP);
  withLocationOptions(push, false).action(async (path, raw) => {
    deps.setExitCode(await runWalPush(path, { dir: raw.dir as string | undefined }, deps));
  });
  const fetch = program.command("wal-fetch")
    .description("PostgreSQL restore_command: fetch one archived WAL file (wal-fetch %f %p)")
    .argument("<name>", "the WAL file's name (%f)")
    .argument("<path>", "where to write it (%p: relative to the data directory)")
    .addHelpText("after", FETCH_HELP);
  withIdentityOption(withLocationOptions(fetch, false)).action(async (name, path, raw) => {
    deps.setExitCode(
      await runWalFetch(name, path, {
        dir: raw.dir as string | undefined,
        identity: raw.identity as string | undefined,
      }, deps),
    );
  });
}
