import type { Engine } from "./engine.ts";
import { SqliteEngine } from "./sqlite/sqlite_engine.ts";
import { PostgresEngine } from "./postgres/postgres_engine.ts";

/**
 * The engine for a database location, by its scheme: `postgres://` / `postgresql://` URLs are
 * PostgreSQL; everything else (`sqlite:PATH`, a file path) is SQLite. `env` supplies the
 * PostgreSQL `PG*` variables and SQLite's `TMPDIR` (default: the process environment).
 */
export function engineFor(
  location: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Engine {
  if (/^postgres(ql)?:\/\//i.test(location)) return new PostgresEngine(location, env);
  return new SqliteEngine(env.TMPDIR ?? "");
}
