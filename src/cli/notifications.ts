import type { CommandDeps } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import { healthPolicyOf } from "../config/health_policy.ts";
import { parseDuration } from "../config/duration.ts";
import type { ServiceContext } from "../core/backup_service.ts";
import { Notifier } from "../core/notify/notifier.ts";
import { RunReporter } from "../core/notify/run_reporter.ts";
import { getStatus } from "../core/status.ts";

/**
 * Where reporting problems go: stderr, one warning line each (secrets already redacted), never
 * stdout, which may be JSON a script is reading.
 */
export function warningLog(deps: CommandDeps): (message: string) => void {
  return (message) => deps.io.stderr(`Warning: ${message}\n`);
}

/** The notifier the settings describe, warning on stderr when a delivery fails. */
export function notifierFor(config: Config, deps: CommandDeps): Notifier {
  return new Notifier(config.notifications, {
    log: warningLog(deps),
    timeoutMs: parseDuration(config.notifications.timeout),
  });
}

/**
 * Pings, outcome notifications and health-change announcements for runs in `context`, as the
 * settings describe them; health is assessed with the configured thresholds.
 */
export function runReporterFor(
  config: Config,
  context: ServiceContext,
  deps: CommandDeps,
): RunReporter {
  return new RunReporter(notifierFor(config, deps), {
    database: context.engine.redact(context.database),
    storage: context.storage,
    clock: deps.clock,
    log: warningLog(deps),
    assess: async () => {
      const report = await getStatus(context, { policy: healthPolicyOf(config.health) });
      return { level: report.systemHealth, reasons: report.reasons };
    },
  });
}
