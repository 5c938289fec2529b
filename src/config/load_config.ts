/**
 * Loads the settings: defaults < config file < environment < flags, merged key by key and then
 * validated by one schema, so a mistake anywhere is one line naming the setting, where it came
 * from, the bad value (never a secret) and what is allowed.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { z } from "npm:zod@4.6.7";
import { UsageError } from "../core/errors.ts";
import { type Config, ConfigSchema } from "./schema.ts";
import { ENV_SETTINGS, settingsFromEnv, type SettingValue } from "./environment.ts";
import { keysAt, kindAt } from "./_schema_walk.ts";
import { closest } from "./_suggest.ts";

/** Name of the config file looked for in the working directory. */
export const CONFIG_FILE_NAME = "backup-manager.json";

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /**
   * `--config`: a file that must exist; `false`: read no file (the library's default). Default:
   * `backup-manager.json` in `cwd`, if present.
   */
  configPath?: string | false;
  /** Where `backup-manager.json` is looked for. Default `Deno.cwd()`. */
  cwd?: string;
  /** Environment variables (see `environment.ts`). Default none. */
  env?: Record<string, string | undefined>;
  /** Settings given as flags; they win over everything else. Undefined values are skipped. */
  flags?: SettingValue[];
}

/** Settings that replace each other: setting one in a stronger layer unsets the other. */
const EXCLUSIVE: [string, string][] = [["schedule.every", "schedule.cron"]];

/** Reads, merges and validates the settings; throws {@linkcode UsageError} (exit 2) on a mistake. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? Deno.cwd();
  const merged: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const texts = new Map<string, string>();
  const file = readConfigFile(options.configPath, cwd);
  if (file) {
    Object.assign(merged, file.values);
    recordOrigins(file.values, [], `in ${file.path}`, origins);
  }
  for (const layer of [settingsFromEnv(options.env ?? {}), options.flags ?? []]) {
    const given = layer.filter((s) => s.value !== undefined);
    for (const [a, b] of EXCLUSIVE) {
      const paths = new Set(given.map((s) => s.path));
      if (paths.has(a) !== paths.has(b)) unset(merged, paths.has(a) ? b : a, origins);
    }
    for (const setting of given) {
      const path = setting.path.split(".");
      setPath(merged, path, typed(setting.value, path));
      for (const key of [...origins.keys()]) {
        if (key === setting.path || key.startsWith(setting.path + ".")) origins.delete(key);
      }
      origins.set(setting.path, setting.source);
      if (typeof setting.value === "string") texts.set(setting.path, setting.value);
    }
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  throw new UsageError(describeIssue(pickIssue(parsed.error.issues), merged, origins, texts));
}

function readConfigFile(
  configPath: string | false | undefined,
  cwd: string,
): { path: string; values: Record<string, unknown> } | undefined {
  if (configPath === false) return undefined;
  const path = configPath === undefined
    ? join(cwd, CONFIG_FILE_NAME)
    : isAbsolute(configPath)
    ? configPath
    : resolve(cwd, configPath);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && configPath === undefined) return undefined;
    const why = error instanceof Deno.errors.NotFound
      ? "it does not exist"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new UsageError(`Cannot read config file "${path}": ${why} (check --config)`, {
      cause: error,
    });
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `Cannot read config file "${path}": it is not valid JSON (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
  if (values === null || typeof values !== "object" || Array.isArray(values)) {
    throw new UsageError(
      `Cannot read config file "${path}": expected a JSON object of settings such as {"backupDir": "./backups"}`,
    );
  }
  return { path, values: relativeToFile(values as Record<string, unknown>, dirname(path)) };
}

/** Relative paths in a config file mean "next to the file", wherever the command runs from. */
function relativeToFile(values: Record<string, unknown>, base: string): Record<string, unknown> {
  const result = { ...values };
  const local = (dir: unknown) => typeof dir === "string" && dir !== "" && !isStoreUrl(dir);
  if (local(result.backupDir)) result.backupDir = resolve(base, result.backupDir as string);
  if (Array.isArray(result.copies)) {
    result.copies = result.copies.map((copy) =>
      copy && typeof copy === "object" && local(copy.url)
        ? { ...copy, url: resolve(base, copy.url) }
        : copy
    );
  }
  const encryption = result.encryption as Record<string, unknown> | undefined;
  const identityFile = encryption?.identityFile;
  if (typeof identityFile === "string" && identityFile !== "" && !isAbsolute(identityFile)) {
    result.encryption = { ...encryption, identityFile: resolve(base, identityFile) };
  }
  if (Array.isArray(result.files)) {
    result.files = result.files.map((path) =>
      typeof path === "string" && path !== "" && !isAbsolute(path) ? resolve(base, path) : path
    );
  }
  const signing = result.signing as Record<string, unknown> | undefined;
  const signingKey = signing?.key;
  if (typeof signingKey === "string" && signingKey !== "" && !isAbsolute(signingKey)) {
    result.signing = { ...signing, key: resolve(base, signingKey) };
  }
  const api = result.api as Record<string, unknown> | undefined;
  const tls = api?.tls as Record<string, unknown> | undefined;
  if (tls && typeof tls === "object") {
    const near = (file: unknown) =>
      typeof file === "string" && file !== "" && !isAbsolute(file) ? resolve(base, file) : file;
    result.api = { ...api, tls: { ...tls, cert: near(tls.cert), key: near(tls.key) } };
  }
  const near = (database: unknown) => {
    if (typeof database !== "string" || /^postgres(ql)?:/i.test(database)) return database;
    const match = /^(sqlite:(?:\/\/)?)?(.+)$/.exec(database);
    return match && !isAbsolute(match[2]) ? `sqlite:${resolve(base, match[2])}` : database;
  };
  // one database, or a list of them (several series): each path next to the file
  result.database = Array.isArray(result.database)
    ? result.database.map(near)
    : near(result.database);
  if (result.database === undefined) delete result.database;
  return result;
}

/** `s3://…` (or another URL scheme): a store that is not a directory. */
function isStoreUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

function recordOrigins(
  value: unknown,
  path: PropertyKey[],
  source: string,
  origins: Map<string, string>,
): void {
  if (path.length > 0) origins.set(path.join("."), source);
  if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      recordOrigins(child, [...path, Array.isArray(value) ? Number(key) : key], source, origins);
    }
  }
}

/** Text from the environment or a flag, typed as the schema expects (the schema still checks). */
function typed(value: unknown, path: string[]): unknown {
  if (typeof value !== "string") return value;
  switch (kindAt(ConfigSchema, path)) {
    case "number":
      return /^[+-]?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
    case "boolean": {
      const lower = value.trim().toLowerCase();
      if (["true", "yes", "1", "on"].includes(lower)) return true;
      if (["false", "no", "0", "off"].includes(lower)) return false;
      return value;
    }
    case "array":
      return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    default:
      return value;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node = node[key] = {} as Record<string, unknown>;
    else if (next && typeof next === "object" && !Array.isArray(next)) {
      node = node[key] = { ...next } as Record<string, unknown>;
    } else return; // a wrong type below: the schema reports it where it was written
  }
  node[path[path.length - 1]] = value;
}

function unset(target: Record<string, unknown>, dotted: string, origins: Map<string, string>) {
  const path = dotted.split(".");
  const parent = getPath(target, path.slice(0, -1));
  if (parent && typeof parent === "object") {
    delete (parent as Record<string, unknown>)[path[path.length - 1]];
  }
  origins.delete(dotted);
}

function getPath(value: unknown, path: readonly PropertyKey[]): unknown {
  let node = value;
  for (const key of path) {
    if (!node || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** An unknown key first: a typo usually explains the other complaints. */
function pickIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  return issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
}

function describeIssue(
  issue: z.core.$ZodIssue,
  merged: Record<string, unknown>,
  origins: Map<string, string>,
  texts: Map<string, string>,
): string {
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const name = settingName([...issue.path, key]);
    const known = keysAt(ConfigSchema, issue.path);
    const guess = closest(key, known);
    const where = originOf([...issue.path, key], origins);
    return `Unknown setting "${name}"${where ? ` ${where}` : ""} (${
      guess
        ? `did you mean "${settingName([...issue.path, guess])}"?`
        : `allowed here: ${known.join(", ")}`
    })`;
  }
  const name = settingName(issue.path);
  const value = getPath(merged, issue.path);
  const message = issue.message;
  if (value === undefined) {
    const variable = Object.entries(ENV_SETTINGS).find(([, path]) => path === name)?.[0];
    return `Missing setting "${name}": ${message} (set it in the config file${
      variable ? ` or ${variable}` : ""
    })`;
  }
  const where = originOf(issue.path, origins);
  const text = texts.get(issue.path.map(String).join("."));
  const shown = isSecret(issue.path) ? "" : ` ${showValue(text ?? value)}`;
  if (where?.startsWith("from ")) {
    const source = where.slice(5);
    return source.startsWith("--")
      ? `Invalid value${shown} for ${source}: ${message}`
      : `Invalid value${shown} for ${source} (setting "${name}"): ${message}`;
  }
  return `Invalid value${shown} for "${name}"${where ? ` ${where}` : ""}: ${message}`;
}

/** Where the value at `path` was set: "in FILE", "from VARIABLE", "from --flag"; nearest parent. */
function originOf(path: readonly PropertyKey[], origins: Map<string, string>): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const source = origins.get(path.slice(0, n).map(String).join("."));
    if (source) return source.startsWith("in ") ? source : `from ${source}`;
  }
  return undefined;
}

/** `notifications.webhooks[0].url`. */
function settingName(path: readonly PropertyKey[]): string {
  return path.map((key, i) =>
    typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`
  ).join("");
}

/** Credentials, URLs that carry tokens, and API token hashes are never echoed. */
function isSecret(path: readonly PropertyKey[]): boolean {
  return path.some((key) =>
    ["password", "user", "url", "webhooks", "healthchecks", "start", "success", "fail", "tokens"]
      .includes(String(key))
  ) || path[0] === "database";
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
