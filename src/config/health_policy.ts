import type { Config } from "./schema.ts";
import { parseDuration } from "./duration.ts";
import type { HealthPolicy } from "../core/health.ts";

/** The core's health thresholds from the validated `health` section (durations in ms). */
export function healthPolicyOf(health: Config["health"]): HealthPolicy {
  return {
    rpoMs: parseDuration(health.rpo)!,
    verifyMaxAgeMs: parseDuration(health.verifyMaxAge)!,
    sizeAnomalyRatio: health.sizeAnomalyRatio,
    minFreeBytes: health.minFreeBytes,
    criticalFailures: health.criticalFailures,
  };
}
