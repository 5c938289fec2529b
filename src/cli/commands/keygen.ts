import type { Command } from "npm:commander@15.1.0";
import { generateKeyPairSync } from "node:crypto";
import { resolve } from "node:path";
import type { CommandDeps } from "../deps.ts";
import { UsageError } from "../../core/errors.ts";
import { formatPublicKey, keyIdOf } from "../../core/signing.ts";
import { renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";

const HELP = `
The private key is written to --out (mode 0600) and never printed: keep it on the backup host
only and name it in "signing.key" (or BACKUP_SIGNING_KEY). The public key is printed: put it in
"signing.trusted" (or BACKUP_SIGNING_TRUSTED) wherever backups are restored or verified. Only the
key id, a fingerprint of the public key, is ever written into a sidecar.

Examples:
  $ backup-manager keygen --out /etc/backup-manager/signing.pem
  $ backup-manager keygen --out signing.pem --format json`;

/** Typed arguments of `keygen`. */
export interface KeygenArgs {
  /** Where the private key goes; required, so the key never lands on a terminal. */
  out: string;
  /** Replace an existing file at `out`. */
  force: boolean;
  format: "text" | "json";
}

/** Checks and types the raw options of `keygen`. */
export function parseKeygenArgs(raw: Record<string, unknown>): KeygenArgs {
  const out = raw.out as string | undefined;
  if (!out) {
    throw new UsageError(
      "Cannot make a signing key: give --out FILE for the private key (it is never printed)",
    );
  }
  return {
    out,
    force: raw.force === true,
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
  };
}

/**
 * Makes an Ed25519 key pair: the private key (PEM, PKCS#8) into a new file readable by its owner
 * only, the public key and its id on stdout.
 */
export async function runKeygen(args: KeygenArgs, deps: CommandDeps): Promise<number> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const path = resolve(deps.io.cwd ?? Deno.cwd(), args.out);
  try {
    await Deno.writeTextFile(path, pem, { mode: 0o600, createNew: !args.force });
    await Deno.chmod(path, 0o600); // an existing file replaced with --force keeps its mode
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(
        `Cannot write the signing key to "${args.out}": the file exists (use --force to replace it)`,
      );
    }
    throw new UsageError(
      `Cannot write the signing key to "${args.out}": ${
        error instanceof Error ? error.message.split(":")[0] : String(error)
      }`,
    );
  }
  const entry = { keyId: keyIdOf(publicKey), publicKey: formatPublicKey(publicKey) };
  if (args.format === "json") {
    deps.io.stdout(renderJson({ ...entry, privateKeyFile: args.out }));
    return 0;
  }
  deps.io.stdout(
    `Private key written to "${args.out}" (mode 0600): set "signing.key" to this file.\n` +
      `Key id: ${entry.keyId}\n\n` +
      `Public key, for "signing.trusted" where backups are restored or verified:\n` +
      `  ${entry.publicKey}\n`,
  );
  return 0;
}

/** Registers `keygen`. */
export function registerKeygen(program: Command, deps: CommandDeps): void {
  program.command("keygen")
    .description("make an Ed25519 key pair that signs backups (private key to a file)")
    .option("--out <file>", "where the private key goes (mode 0600; never printed)")
    .option("--force", "replace an existing file")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP)
    .action(async (raw) => deps.setExitCode(await runKeygen(parseKeygenArgs(raw), deps)));
}
