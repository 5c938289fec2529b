/**
 * An engine that records the options the core hands it, around a real engine: for tests that
 * check what reaches the engine (`jobs`, `compression`) while the work itself is real.
 */
import type { DumpOptions, Engine, RestoreOptions } from "../../src/engines/engine.ts";

/** A real engine, with every `dump` and `restore` option recorded in order. */
export interface RecordingEngine extends Engine {
  dumps: DumpOptions[];
  restores: RestoreOptions[];
}

/** Wraps `engine`, recording the options of each `dump` and `restore`. */
export function recordingEngine(engine: Engine): RecordingEngine {
  const dumps: DumpOptions[] = [];
  const restores: RestoreOptions[] = [];
  return {
    kind: engine.kind,
    dumps,
    restores,
    redact: (location) => engine.redact(location),
    databaseName: (location) => engine.databaseName(location),
    exists: (location) => engine.exists(location),
    ...(engine.isEmpty ? { isEmpty: (location: string) => engine.isEmpty!(location) } : {}),
    describe: (location) => engine.describe(location),
    dump: (location, sink, options) => {
      dumps.push({ ...options });
      return engine.dump(location, sink, options);
    },
    restore: (location, sql, options) => {
      restores.push({ ...options });
      return engine.restore(location, sql, options);
    },
    createScratch: () => engine.createScratch(),
  };
}
