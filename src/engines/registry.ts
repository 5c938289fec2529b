import type { Engine } from "./engine.ts";
import { SqliteEngine } from "./sqlite/sqlite_engine.ts";
import { NotImplementedError } from "../core/errors.ts";

/**
 * The engine for a database location, by its scheme: `postgres://` / `postgresql://` URLs are
 * PostgreSQL; everything else (`sqlite:PATH`, a file path) is SQLite.
 */
export function engineFor(location: string): Engine {
  if (/^postgres(ql)?:\/\//i.test(location)) {
    throw new NotImplementedError(
      "Cannot back up PostgreSQL yet: the PostgreSQL engine is not built (use a SQLite database)",
    );
  }
  return new SqliteEngine();
}
