/**
 * `auto` over several databases: every cycle backs up each series in turn (the glob matched
 * afresh before each cycle), each with its own store, retention, copies, retries, pings and
 * notifications naming the series (`scheduler.ts`, `targets`).
 */
import type { CommandDeps } from "./deps.ts";
import { seriesConfig, serviceContext } from "./deps.ts";
import type { Config } from "../config/schema.ts";
import type { CycleTarget, SchedulerContext } from "../core/scheduler.ts";
import type { EventListener, OpsEvent } from "../core/events.ts";
import type { RunReporter } from "../core/notify/run_reporter.ts";
import { messageOf } from "../core/errors.ts";
import { subStoreUrl } from "../storage/open_storage.ts";
import { destinationsFor } from "./destinations.ts";
import { runReporterFor } from "./notifications.ts";
import { policyOf } from "./commands/cleanup.ts";
import { seriesPlan } from "./series.ts";

/** What `auto` needs to run the series of several databases. */
export interface SeriesScheduling {
  /**
   * The scheduler's own context: its clock and events. Its database is never backed up (the
   * targets are); it stands for the setting as a whole.
   */
  context: SchedulerContext;
  targets: () => Promise<CycleTarget[]>;
  /** Routes each series' run events to that series' pings and notifications. */
  listener: EventListener;
  /** Resolves when every series' reporting is done. */
  settled(): Promise<void>;
}

/** Options of {@linkcode seriesScheduling}. */
export interface SeriesSchedulingOptions {
  /** `--copy-to` stores; each series copies to its sub-store of each. */
  copyTo: string[];
  /** Retention flags were given: they apply to every series, over `retentionPerDatabase`. */
  keepRetention: boolean;
  /** `--series NAME`: only this series. */
  only?: string;
  /** Where problems of reporting and discovery go (the log, as warnings). */
  warn: (message: string) => void;
}

/** The scheduling of the series the settings name (see the module comment). */
export function seriesScheduling(
  config: Config,
  deps: CommandDeps,
  options: SeriesSchedulingOptions,
): SeriesScheduling {
  const reporters = new Map<string, RunReporter>();
  const reportedVanished = new Set<string>();
  // never backed up: the targets are; a placeholder location for the scheduler's clock and events
  const placeholder = { ...config, database: "sqlite:/dev/null" };
  const context = { ...serviceContext(placeholder, deps), clock: deps.clock };
  const targets = async (): Promise<CycleTarget[]> => {
    let plan;
    try {
      plan = await seriesPlan(config, deps);
    } catch (error) {
      options.warn(`Cannot find the databases of "database": ${messageOf(error)}`);
      return [];
    }
    if (!plan) return [];
    if (plan.current.length === 0) {
      options.warn('The "database" setting matches no database: nothing to back up this cycle');
    }
    for (const series of plan.vanished) {
      if (reportedVanished.has(series.name)) continue;
      reportedVanished.add(series.name);
      options.warn(
        `${series.name}: the "database" setting no longer names it; its backups are kept`,
      );
    }
    const chosen = options.only === undefined
      ? plan.current
      : plan.current.filter((s) => s.name === options.only);
    if (options.only !== undefined && chosen.length === 0) {
      options.warn(
        `No series "${options.only}" among ${
          plan.current.map((s) => `"${s.name}"`).join(", ") || "none"
        }: nothing to back up this cycle`,
      );
    }
    return chosen.map((series) => {
      const seriesDeps: CommandDeps = { ...deps, series };
      const own = seriesConfig(config, series, { keepRetention: options.keepRetention });
      const seriesContext = { ...serviceContext(own, seriesDeps), clock: deps.clock };
      if (!reporters.has(series.name)) {
        reporters.set(
          series.name,
          runReporterFor(own, seriesContext, seriesDeps, options.warn),
        );
      }
      return {
        series: series.name,
        context: seriesContext,
        policy: policyOf(own),
        destinations: destinationsFor(
          own,
          seriesDeps,
          options.copyTo.map((url) => subStoreUrl(url, series.name)),
        ),
      };
    });
  };
  const listener = (event: OpsEvent) => {
    const series = "series" in event ? event.series : undefined;
    if (series) reporters.get(series)?.listener(event);
  };
  return {
    context,
    targets,
    listener,
    settled: async () => {
      await Promise.all([...reporters.values()].map((r) => r.settled()));
    },
  };
}
