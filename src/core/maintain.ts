/**
 * `maintain`: the engine's routine maintenance of the database (`src/engines/maintenance.ts`)
 * under the backup directory's lock, so a VACUUM never races a backup of the same database. Each
 * run is recorded as a `maintain` audit line with its figures: `check` and `status` read the last
 * one for their integrity rule, and the log shows it. Corruption is no exception here: the report
 * says `integrity: "failed"`, the failure is notified, and the caller decides the exit code.
 */
import type { ServiceContext } from "./context.ts";
import type { EngineKind } from "../engines/engine.ts";
import type { MaintainOptions, MaintenanceReport } from "../engines/maintenance.ts";
import { isRefusal, recordAction } from "./audit.ts";
import { withHooks } from "./hooks.ts";
import { messageOf, NotImplementedError } from "./errors.ts";
import { lockDirectoryOf, withLock } from "./lock.ts";
import type { NotifyEvent } from "./notify/event.ts";

/** Options of {@linkcode maintainDatabase}. */
export interface MaintainDatabaseOptions extends MaintainOptions {
  /**
   * Sends a notification; called with a `failure` event when the checks find corruption (the
   * CLI and the scheduler pass the configured notifier's). Default: none sent.
   */
  notify?: (event: NotifyEvent) => Promise<unknown>;
}

/** What {@linkcode maintainDatabase} reports: the engine's report and what it was run on. */
export interface MaintainResult extends MaintenanceReport {
  /** The database, redacted. */
  database: string;
  engine: EngineKind;
  /** When the run started, ISO 8601. */
  startedAt: string;
  /** Every step's `bytesFreed`, summed. */
  bytesFreed: number;
}

/** How many problems the audit line and the notification carry. */
const PROBLEMS_RECORDED = 5;

/**
 * Maintains the context's database. A dry run takes no lock and records nothing; a real one
 * holds the lock (busy: `LockBusyError`, exit 6), records its outcome, and notifies corruption.
 */
export async function maintainDatabase(
  context: ServiceContext,
  options: MaintainDatabaseOptions = {},
): Promise<MaintainResult> {
  const { engine, clock } = context;
  const database = engine.redact(context.database);
  if (!engine.maintain) {
    throw new NotImplementedError(
      `Cannot maintain "${database}": the ${engine.kind} engine has no maintenance yet`,
    );
  }
  const maintain = engine.maintain.bind(engine);
  const startedAt = clock.now().toISOString();
  const { notify: _notify, ...engineOptions } = options;
  const result = (report: MaintenanceReport): MaintainResult => ({
    database,
    engine: engine.kind,
    startedAt,
    ...report,
    bytesFreed: report.steps.reduce((sum, s) => sum + (s.bytesFreed ?? 0), 0),
  });
  if (options.dryRun) return result(await maintain(context.database, engineOptions));
  return await withLock(lockDirectoryOf(context), { command: "maintain", clock }, async () => {
    let report: MaintainResult;
    try {
      report = await withHooks(context, {
        operation: "maintain",
        what: `maintain "${database}"`,
        failureOf: (r) => r.integrity === "failed" ? integrityMessage(r) : undefined,
        signal: options.signal,
      }, async () => result(await maintain(context.database, engineOptions)));
    } catch (error) {
      if (!isRefusal(error)) {
        await recordAction(context, {
          action: "maintain",
          target: database,
          outcome: "failed",
          error: messageOf(error),
        }, error);
      }
      throw error;
    }
    const failed = report.integrity === "failed";
    const error = failed ? integrityMessage(report) : undefined;
    await recordAction(context, {
      action: "maintain",
      target: database,
      outcome: failed ? "failed" : "ok",
      ...(error ? { error } : {}),
      details: {
        integrity: report.integrity,
        problems: report.problems.slice(0, PROBLEMS_RECORDED),
        bytesFreed: report.bytesFreed,
        sizeBefore: report.sizeBefore,
        sizeAfter: report.sizeAfter,
        durationMs: report.durationMs,
        steps: report.steps.map((s) => ({
          name: s.name,
          outcome: s.outcome,
          detail: s.detail,
          durationMs: s.durationMs,
        })),
      },
    });
    if (failed && options.notify) {
      await options.notify(maintenanceFailureEvent(clock.now(), database, report));
    }
    return report;
  });
}

/** The one-line error of a run whose checks found corruption. */
export function integrityMessage(report: Pick<MaintenanceReport, "problems">): string {
  const n = report.problems.length;
  return `Maintenance found ${n === 1 ? "an integrity problem" : `${n} integrity problems`} in ` +
    `the database: ${report.problems[0]} (restore a good backup, or repair it)`;
}

/** The `failure` notification of a run whose checks found corruption. */
export function maintenanceFailureEvent(
  time: Date,
  database: string,
  report: Pick<MaintenanceReport, "problems">,
): NotifyEvent {
  const error = integrityMessage(report);
  return {
    kind: "failure",
    time,
    summary: `Maintenance of "${database}" found corruption`,
    details: report.problems.slice(0, PROBLEMS_RECORDED),
    database,
    error,
  };
}
