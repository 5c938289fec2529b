/**
 * backup-manager: the command-line entry point. Parses argv, runs one command, exits with its
 * code. This is the only place that exits the process.
 */
import { run } from "../src/cli/main.ts";
import { processIo } from "../src/cli/io.ts";
import { systemClock } from "../src/core/backup_service.ts";

if (import.meta.main) {
  Deno.exit(await run(Deno.args, processIo(), systemClock));
}
