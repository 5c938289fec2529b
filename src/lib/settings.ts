/**
 * Settings for the library: the same schema, merge and one-line errors as the command line
 * (`loadConfig`), with the application's plain object as the strongest layer. A library reads
 * only what it is given: no settings file and no environment unless the caller passes them.
 */
import { isAbsolute, resolve } from "node:path";
import type { z } from "npm:zod@4.6.7";
import type { SettingValue } from "../config/environment.ts";
import { loadConfig } from "../config/load_config.ts";
import type { Config, ConfigSchema } from "../config/schema.ts";

/**
 * The settings an application passes, as in `backup-manager.json` (README, "Settings"): every
 * section optional, durations as text (`"6h"`), unknown keys refused.
 */
export type Settings = z.input<typeof ConfigSchema>;

/** The validated settings, defaults filled in. */
export type { Config };

/** Where settings come from besides the object given. */
export interface SettingsOptions {
  /**
   * Directory that relative paths (a SQLite `database`, a local `backupDir`, `copies`, key
   * files) and `configPath` are resolved against. Default the process's working directory.
   */
  cwd?: string;
  /**
   * Environment variables to read (`DATABASE_URL`, `BACKUP_DIR`, …, README "Settings"); they
   * lose to `settings`. Default none: pass `Deno.env.toObject()` to read the process's.
   */
  env?: Record<string, string | undefined>;
  /**
   * A settings file (`backup-manager.json`) to read first; it must exist. Default none: the
   * library does not look for one.
   */
  configPath?: string;
}

/** Whose mistake a bad value is, in the one-line error. */
const SOURCE = "the settings given to the library";

/**
 * Merges and validates: defaults < `configPath` < `env` < `settings`. Throws `UsageError` (exit
 * code 2) with one line naming the setting on any mistake.
 */
export function resolveSettings(settings: Settings = {}, options: SettingsOptions = {}): Config {
  const cwd = options.cwd ?? Deno.cwd();
  const config = loadConfig({
    configPath: options.configPath ?? false,
    cwd,
    env: options.env ?? {},
    flags: settingValues(settings as Record<string, unknown>),
  });
  return relativeTo(config, cwd);
}

/**
 * A plain object as one setting per leaf (`{schedule: {every: "6h"}}` → `schedule.every`), so it
 * overrides the file key by key instead of replacing whole sections. Arrays are leaves.
 */
export function settingValues(value: Record<string, unknown>, prefix = ""): SettingValue[] {
  const values: SettingValue[] = [];
  for (const [key, child] of Object.entries(value)) {
    const path = prefix + key;
    if (child !== null && typeof child === "object" && !Array.isArray(child)) {
      const inner = settingValues(child as Record<string, unknown>, `${path}.`);
      // an empty section still says "this section": the schema then fills its defaults
      values.push(...(inner.length ? inner : [{ path, value: {}, source: SOURCE }]));
    } else if (child !== undefined) values.push({ path, value: child, source: SOURCE });
  }
  return values;
}

/** Relative local paths resolved against `cwd` (the CLI's are against the process's). */
function relativeTo(config: Config, cwd: string): Config {
  const local = (path: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : resolve(cwd, path);
  const file = (path: string) => isAbsolute(path) ? path : resolve(cwd, path);
  const { identityFile } = config.encryption;
  const { key } = config.signing;
  const one = (location: string) =>
    /^postgres(ql)?:/i.test(location)
      ? location
      : `sqlite:${resolve(cwd, location.replace(/^sqlite:(\/\/)?/, ""))}`;
  // one database, or (a glob or list) several
  const setting: string | readonly string[] = config.database;
  const database =
    (typeof setting === "string" ? one(setting) : setting.map(one)) as Config["database"];
  return {
    ...config,
    database,
    backupDir: local(config.backupDir),
    copies: config.copies.map((copy) => ({ ...copy, url: local(copy.url) })),
    encryption: {
      ...config.encryption,
      ...(identityFile ? { identityFile: file(identityFile) } : {}),
    },
    signing: { ...config.signing, ...(key ? { key: file(key) } : {}) },
  };
}
