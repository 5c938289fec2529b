import type { Command } from "commander";
import type { CommandDeps } from "../deps.ts";
import { NotImplementedError } from "../../core/errors.ts";

/** Registers `auto`, which says plainly that the scheduler is not built yet. */
export function registerAuto(program: Command, _deps: CommandDeps): void {
  program.command("auto")
    .description("scheduled backups (not built yet: use cron with create + cleanup)")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new NotImplementedError(
        'Cannot run "auto": the scheduler is not built yet (schedule "deno task backup:create" and "deno task backup:cleanup" with cron; see the README)',
      );
    });
}
