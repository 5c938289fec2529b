import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  locationFlags,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import { notifierFor, warningLog } from "../notifications.ts";
import { databaseStatusOptions, healthPolicyOf } from "../../config/health_policy.ts";
import { getStatus, type StatusReport } from "../../core/status.ts";
import { notifyHealthChange } from "../../core/notify/health_change.ts";
import { severity } from "../../core/health.ts";
import { formatAge } from "../../core/units.ts";
import { formatBytes, renderJson } from "../format.ts";
import { parseFormat } from "../settings.ts";
import { destinationsFor } from "../destinations.ts";
import { databaseLabel, runPerSeries, withSeriesOption } from "../series.ts";
import { replicationStatus, walArchiveStatus } from "../pitr_status.ts";

const HELP = `
Health is the worst of its rules: the newest good backup's age against the RPO (warning past it,
critical past twice it), the last run and failures in a row, the newest verified backup's age,
a newest full backup far smaller than the recent ones, free space in the backup directory,
damaged backups, leftovers of interrupted runs (partial files in the store, restore temporaries
beside a SQLite database, load and restore-test databases on a PostgreSQL server: counted with
their size until the next run or cleanup removes them), and whether the database answers; for each copy
destination ("copies"), its newest good copy against the RPO, whether it lacks the newest
backup, and uploads left incomplete there.

With --check the exit code is the verdict, as monitoring plugins report it: 0 healthy,
1 warning, 2 critical; one line per reason. Without it, status exits 0 unless it cannot run.

Examples:
  $ backup-manager status
  $ backup-manager status --check          # cron, Nagios, Icinga, a container health check
  $ backup-manager status --format json`;

/** Typed arguments of `status`. */
export interface StatusArgs {
  /** `--series NAME`: with several databases, only this series (default every one). */
  series?: string;
  format: "text" | "json";
  check: boolean;
  /** `check`: every rule's line, the passing ones too (`status --check` prints problems only). */
  everyRule?: boolean;
  database?: string;
  dir?: string;
}

/** Checks and types the raw options of `status`. */
export function parseStatusArgs(raw: Record<string, string | boolean | undefined>): StatusArgs {
  return {
    format: parseFormat(raw.format as string | undefined, ["text", "json"] as const, "text"),
    check: raw.check === true,
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
    series: raw.series as string | undefined,
  };
}

/**
 * Prints the store's figures and health. With `check`, returns the Nagios code of the verdict and
 * announces a change of level when health notifications are on (monitors run it regularly, so it
 * notices a store going stale even when no run happens at all).
 */
export async function runStatus(args: StatusArgs, deps: CommandDeps): Promise<number> {
  // several databases: each series' figures and health (its own RPO), worst exit code
  return await runPerSeries(args, deps, (d) => statusOne(args, d), {
    format: args.format,
    prefixLines: args.check,
    vanishedInOutput: true,
  });
}

async function statusOne(args: StatusArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  const context = serviceContext(config, deps);
  const report = await getStatus(context, {
    policy: healthPolicyOf(config.health),
    destinations: destinationsFor(config, deps).map((d) => d.storage),
    ...databaseStatusOptions(config.health),
  });
  // point-in-time recovery: replicate's figures and the pitr.maxLag rule, once it has shipped
  const replication = context.engine.kind === "sqlite"
    ? await replicationStatus(config, context.database, deps)
    : undefined;
  if (replication?.reason) {
    report.reasons.push(replication.reason);
    if (report.systemHealth === "healthy") report.systemHealth = "warning";
  }
  // PostgreSQL: the WAL archive's figures, its gaps and a failing archive_command
  const archive = context.engine.kind === "postgres"
    ? await walArchiveStatus(config, context.database, deps, {
      // an unreachable server was waited for once already: not again for its archiver
      askServer: !report.reasons.some((r) => r.rule === "database"),
    })
    : undefined;
  if (archive && archive.figures.baseBackups > 0 && report.totalBackups === 0) {
    // base backups are this store's backups: "no backups exist" would be a false alarm
    report.reasons = report.reasons.filter((r) => r.rule !== "backups");
    report.systemHealth = report.reasons.some((r) => r.level === "critical")
      ? "critical"
      : report.reasons.length > 0
      ? "warning"
      : "healthy";
  }
  for (const reason of archive?.reasons ?? []) {
    report.reasons.push(reason);
    if (reason.level === "critical") report.systemHealth = "critical";
    else if (report.systemHealth === "healthy") report.systemHealth = "warning";
  }
  if (args.check) {
    await notifyHealthChange(
      context.storage,
      notifierFor(config, deps),
      { level: report.systemHealth, reasons: report.reasons },
      {
        database: databaseLabel(context.engine.redact(context.database), deps),
        time: deps.clock.now(),
        log: warningLog(deps),
      },
    );
  }
  if (args.format === "json") {
    deps.io.stdout(
      renderJson({
        ...report,
        ...(replication ? { replication: replication.figures } : {}),
        ...(archive ? { walArchive: archive.figures } : {}),
      }),
    );
  } else if (args.check) deps.io.stdout(renderCheck(report, args.everyRule ?? false));
  else deps.io.stdout(renderText(report, replication?.line, archive?.line));
  return args.check ? severity(report.systemHealth) : 0;
}

/**
 * One line per reason, worst first; a single OK line when there is none. With `everyRule`, the
 * database rules that pass follow as OK lines.
 */
function renderCheck(report: StatusReport, everyRule: boolean): string {
  const passing = everyRule
    ? (report.databaseChecks ?? []).filter((c) => c.level === "ok")
      .map((c) => `OK: ${c.message}\n`).join("")
    : "";
  if (report.reasons.length === 0) {
    return `OK: ${report.goodBackups} good backup${report.goodBackups === 1 ? "" : "s"}, ` +
      `the newest ${formatAge(report.lastGoodBackupAgeMs ?? 0)} old\n` + passing;
  }
  return report.reasons.map((r) => `${r.level.toUpperCase()}: ${r.message}\n`).join("") + passing;
}

function renderText(r: StatusReport, replication?: string, walArchive?: string): string {
  const row = (label: string, value: string) => `  ${label.padEnd(18)}${value}\n`;
  const age = (ms: number | null) => ms === null ? "" : `, ${formatAge(ms)} ago`;
  const lastRun = r.lastRunOutcome === null
    ? "none recorded"
    : `${r.lastRunDate} ${r.lastRunOutcome}` +
      (r.consecutiveFailures > 1 ? ` (${r.consecutiveFailures} failures in a row)` : "");
  return `Backups in ${r.backupDir}: ${r.totalBackups} (${r.goodBackups} good)\n` +
    row(
      "last backup",
      r.lastBackupDate ? `${r.lastBackupDate} (${r.lastBackupType})` : "never",
    ) +
    row(
      "last good backup",
      r.lastGoodBackupDate
        ? `${r.lastGoodBackupDate}${age(r.lastGoodBackupAgeMs)} (RPO ${formatAge(r.policy.rpoMs)})`
        : "never",
    ) +
    row("last run", lastRun) +
    row(
      "last verified",
      r.lastVerifiedBackup
        ? `${r.lastVerifiedBackup}${age(r.lastVerifiedBackupAgeMs)} (verified ${r.lastVerifiedAt})`
        : "never",
    ) +
    row(
      "total size",
      `${formatBytes(r.totalSize)} (average ${formatBytes(r.averageBackupSize)})`,
    ) +
    (r.newestFullBackupSize !== null
      ? row(
        "newest full",
        formatBytes(r.newestFullBackupSize) +
          (r.recentMedianSize !== null
            ? ` (recent median ${formatBytes(r.recentMedianSize)})`
            : ""),
      )
      : "") +
    (r.signedBackups > 0
      ? row(
        "signed",
        `${r.signedBackups} of ${r.totalBackups}` +
          (r.lastBackupSignedBy ? ` (the newest by ${r.lastBackupSignedBy})` : " (not the newest)"),
      )
      : "") +
    row("free space", r.freeBytes === null ? "unknown" : formatBytes(r.freeBytes)) +
    (r.incompleteFiles + r.scratchLeftovers > 0
      ? row(
        "leftovers",
        `${r.incompleteFiles + r.scratchLeftovers} from interrupted runs, ` +
          `${formatBytes(r.incompleteBytes + r.scratchBytes)} (run cleanup)`,
      )
      : "") +
    row("database", r.databaseReachable ? "reachable" : "cannot be reached") +
    (r.databaseChecks ?? []).map((c) => row("database rule", `${c.level}: ${c.message}`)).join("") +
    r.destinations.map((d) =>
      row(
        "copy",
        `${d.location}: ` + (d.error
          ? "cannot be read"
          : d.newestGoodCopyDate
          ? `${d.goodCopies} good, newest ${d.newestGoodCopyDate}${age(d.newestGoodCopyAgeMs)}` +
            (d.missingNewest ? ` (lacks ${d.missingNewest})` : "")
          : "no copy yet"),
      )
    ).join("") +
    (replication ? row("replication", replication) : "") +
    (walArchive ? row("WAL archive", walArchive) : "") +
    row("health", r.systemHealth) +
    r.reasons.map((reason) => `    - ${reason.level}: ${reason.message}\n`).join("");
}

const CHECK_HELP = `
status --check with every database rule's line, the passing ones too: integrity (the last
maintain's result, and its age against health.maintenanceMaxAge), freshness of the data
(health.freshness), the database's size (health.maxDatabaseSize) and your SQL checks
(health.checks), after the backups' rules. Exits 0 healthy, 1 warning, 2 critical.

Examples:
  $ backup-manager check
  $ backup-manager check --format json`;

/** Registers `check`: `status --check` that also prints the rules that pass. */
export function registerCheck(program: Command, deps: CommandDeps): void {
  const command = program.command("check")
    .description("health verdict with every database rule (exit 0 healthy, 1 warning, 2 critical)")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", CHECK_HELP);
  withSeriesOption(withLocationOptions(command), "check").action(async (raw) => {
    const args = parseStatusArgs(raw);
    deps.setExitCode(await runStatus({ ...args, check: true, everyRule: true }, deps));
  });
}

/** Registers `status`. */
export function registerStatus(program: Command, deps: CommandDeps): void {
  const command = program.command("status")
    .description("backup figures and health")
    .option("--check", "exit 0 healthy, 1 warning, 2 critical (for monitors)")
    .option("--format <format>", "text or json", "text")
    .addHelpText("after", HELP);
  withSeriesOption(withLocationOptions(command), "report on").action(async (raw) => {
    deps.setExitCode(await runStatus(parseStatusArgs(raw), deps));
  });
}
