import type { CommandDeps } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import { Notifier } from "../core/notify/notifier.ts";

/**
 * Where reporting problems go: stderr, one warning line each (secrets already redacted), never
 * stdout, which may be JSON a script is reading.
 */
export function warningLog(deps: CommandDeps): (message: string) => void {
  return (message) => deps.io.stderr(`Warning: ${message}\n`);
}

/** The notifier the settings describe, warning on stderr when a delivery fails. */
export function notifierFor(config: Config, deps: CommandDeps): Notifier {
  return new Notifier(config.notifications, { log: warningLog(deps) });
}
