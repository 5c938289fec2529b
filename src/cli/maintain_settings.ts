import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import type { MaintainOptions } from "../engines/maintenance.ts";

/**
 * The engine's maintenance options from the `maintenance` settings, shared by the `maintain`
 * command and `auto`'s `schedule.maintenance`, so both decide VACUUM and lock waits alike.
 */
export function maintainOptionsOf(config: Config): MaintainOptions {
  return {
    vacuum: config.maintenance.vacuum,
    vacuumMinBytes: config.maintenance.vacuumMinBytes,
    vacuumMinRatio: config.maintenance.vacuumMinRatio,
    busyTimeoutMs: parseDuration(config.maintenance.busyTimeout)!,
  };
}
