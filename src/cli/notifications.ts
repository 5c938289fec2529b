import type { CommandDeps } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import { databaseStatusOptions, healthPolicyOf } from "../config/health_policy.ts";
import { parseDuration } from "../config/duration.ts";
import type { ServiceContext } from "../core/context.ts";
import { Notifier } from "../core/notify/notifier.ts";
import { RunReporter } from "../core/notify/run_reporter.ts";
import { getStatus } from "../core/status.ts";
import { destinationsFor } from "./destinations.ts";
import { databaseLabel } from "./series.ts";

/**
 * Where reporting problems go: stderr, one warning line each (secrets already redacted), never
 * stdout, which may be JSON a script is reading.
 */
export function warningLog(deps: CommandDeps): (message: string) => void {
  return (message) => deps.io.stderr(`Warning: ${message}\n`);
}

/** The notifier the settings describe; a failed delivery is a warning on stderr unless `log` says. */
export function notifierFor(
  config: Config,
  deps: CommandDeps,
  log: (message: string) => void = warningLog(deps),
): Notifier {
  return new Notifier(config.notifications, {
    log,
    timeoutMs: parseDuration(config.notifications.timeout),
  });
}

/**
 * Pings, outcome notifications and health-change announcements for runs in `context`, as the
 * settings describe them; health is assessed with the configured thresholds. Problems go to `log`
 * (default: warnings on stderr; `auto` passes its own log).
 */
export function runReporterFor(
  config: Config,
  context: ServiceContext,
  deps: CommandDeps,
  log: (message: string) => void = warningLog(deps),
): RunReporter {
  return new RunReporter(notifierFor(config, deps, log), {
    database: databaseLabel(context.engine.redact(context.database), deps),
    storage: context.storage,
    clock: deps.clock,
    log,
    assess: async () => {
      const report = await getStatus(context, {
        policy: healthPolicyOf(config.health),
        destinations: destinationsFor(config, deps).map((d) => d.storage),
        ...databaseStatusOptions(config.health),
      });
      return { level: report.systemHealth, reasons: report.reasons };
    },
  });
}
