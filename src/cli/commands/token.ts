import type { Command } from "npm:commander@15.1.0";
import type { CommandDeps } from "../deps.ts";
import { newToken } from "../../api/auth.ts";
import { UsageError } from "../../core/errors.ts";
import { renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";

const HELP = `
The token is printed once and stored nowhere: give it to the client (a secret store, a password
manager) and put only its hash in "api.tokens" of the config file. Anyone who reads the config
learns nothing that lets them call the API.

Examples:
  $ backup-manager token --name ops --role admin
  $ backup-manager token --name grafana --role viewer --format json`;

/** Typed arguments of `token`. */
export interface TokenArgs {
  name: string;
  role: "admin" | "viewer";
  format: "text" | "json";
}

/** Checks and types the raw options of `token`. */
export function parseTokenArgs(raw: Record<string, string | undefined>): TokenArgs {
  const name = raw.name ?? "admin";
  if (!/^[\w.@-]{1,64}$/.test(name)) {
    throw new UsageError(
      `Invalid value "${name}" for --name: expected 1-64 letters, digits, or . _ @ -`,
    );
  }
  const role = raw.role ?? "admin";
  if (role !== "admin" && role !== "viewer") {
    throw new UsageError(`Invalid value "${role}" for --role: expected "admin" or "viewer"`);
  }
  return { name, role, format: parseFormat(raw.format, ["text", "json"] as const, "text") };
}

/** Prints a new API token and the config entry that accepts it. */
export function runToken(args: TokenArgs, deps: CommandDeps): number {
  const { token, sha256 } = newToken();
  const entry = { name: args.name, sha256, role: args.role };
  if (args.format === "json") {
    deps.io.stdout(renderJson({ token, entry }));
    return 0;
  }
  deps.io.stdout(
    `Token (shown once, keep it secret):\n  ${token}\n\n` +
      `Add this to "api.tokens" in the config file:\n  ${JSON.stringify(entry)}\n`,
  );
  return 0;
}

/** Registers `token`. */
export function registerToken(program: Command, deps: CommandDeps): void {
  program.command("token")
    .description("make a new API token and print it with the hash the config holds")
    .option("--name <name>", "the token's name, recorded in the audit log", "admin")
    .option("--role <role>", "admin or viewer", "admin")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP)
    .action((raw) => deps.setExitCode(runToken(parseTokenArgs(raw), deps)));
}
