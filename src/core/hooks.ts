/**
 * Hooks: commands of the user's that run around an operation — `before` it (stop the application
 * before a restore), `after` it succeeded (a custom upload of the new backup), on its `failure`
 * (start the application again, page someone). They run in the core, so every front end (CLI,
 * `auto`, API jobs, the library) runs them the same way.
 *
 * - A hook is an argv, run without a shell (`["systemctl", "stop", "app"]`), or a script with
 *   `shell: true`, run by `/bin/sh -c`. Each has a timeout, after which its whole process group
 *   gets SIGTERM, then SIGKILL.
 * - A failing `before` hook stops the operation before it touches anything, and runs the
 *   `failure` hooks. An `after` or `failure` hook that fails is a warning: the operation's own
 *   outcome stands.
 * - Hooks get a clean environment: `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_*`, `TZ`,
 *   `TMPDIR` of ours, the hook's own `env`, and `BACKUP_*` variables describing the run — never
 *   our other variables (`DATABASE_URL`, `PGPASSWORD`, AWS keys, tokens), nor a password.
 * - Their output lines become `hook-output` events (the CLI prints them on stderr, prefixed with
 *   the hook's name), at most {@linkcode DEFAULT_HOOK_OUTPUT_CHARS} per run; each run is audited.
 */
import { basename, isAbsolute, join, resolve } from "node:path";
import type { Storage } from "../storage/storage.ts";
import { LocalStorage } from "../storage/local.ts";
import type { BackupMeta } from "./backup_file.ts";
import { recordAction } from "./audit.ts";
import { HookFailedError, InterruptedError, messageOf, UsageError } from "./errors.ts";
import type { ServiceContext } from "./context.ts";
import { type HookProcessOutcome, runHookProcess } from "./_hook_process.ts";

/** The operations hooks can run around. */
export const HOOK_OPERATIONS = [
  "create",
  "restore",
  "verify",
  "cleanup",
  "copy",
  "maintain",
] as const;

/** One of {@linkcode HOOK_OPERATIONS}. */
export type HookOperation = typeof HOOK_OPERATIONS[number];

/** Operations a hook without `on` runs around: the two that change a database or a store. */
export const DEFAULT_HOOK_OPERATIONS: readonly HookOperation[] = ["create", "restore"];

/** When a hook runs: before the operation, after its success, or after its failure. */
export type HookStage = "before" | "after" | "failure";

/** A hook's default timeout: 5 minutes. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;

/** Between a timed-out hook's SIGTERM and SIGKILL: 5 seconds. */
export const DEFAULT_HOOK_KILL_GRACE_MS = 5_000;

/** Output characters of one hook run that are shown (and logged); the rest is counted. */
export const DEFAULT_HOOK_OUTPUT_CHARS = 64 * 1024;

/** One hook command. */
export interface Hook {
  /** An argv, run as it is; or, with `shell: true`, a script for `/bin/sh -c`. */
  command: string[] | string;
  /** Run `command` (one string) by `/bin/sh -c`. Default `false`. */
  shell?: boolean;
  /** Operations it runs around. Default {@linkcode DEFAULT_HOOK_OPERATIONS}. */
  on?: readonly HookOperation[];
  /** Default {@linkcode DEFAULT_HOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Working directory (relative: to `HookSettings.cwd`). Default `HookSettings.cwd`. */
  cwd?: string;
  /**
   * The name its output lines, warnings and audit entries carry. Default the program's base
   * name (`systemctl`, `upload.sh`, `sh`): never its arguments, which may hold a token.
   */
  name?: string;
  /** Variables added to its environment (they win over ours and over `BACKUP_*`). */
  env?: Record<string, string>;
}

/** The hooks of a context, and how they run. */
export interface HookSettings {
  before?: Hook[];
  after?: Hook[];
  failure?: Hook[];
  /** Where hooks run, and what their relative `cwd` is relative to. Default the process's cwd. */
  cwd?: string;
  /**
   * Our environment, from which `PATH`, `HOME`, `LANG`… are passed on (nothing else is). Default
   * the process's own.
   */
  environment?: Record<string, string | undefined>;
  /** Default {@linkcode DEFAULT_HOOK_KILL_GRACE_MS}. */
  killGraceMs?: number;
  /** Default {@linkcode DEFAULT_HOOK_OUTPUT_CHARS}. */
  maxOutputChars?: number;
}

/** What a run is about, as `BACKUP_*` variables tell it; every field optional. */
export interface HookFacts {
  /** The backup made, restored, verified or copied. */
  id?: string;
  type?: string;
  /** The database worked on (a restore: its target), redacted. */
  database?: string;
  engine?: string;
  /** The store, redacted. */
  store?: string;
  /** For a local store: the absolute path of the backup's data file. */
  file?: string;
  sha256?: string;
  size?: number;
}

/** Options of {@linkcode withHooks}. */
export interface WithHooksOptions<T> {
  operation: HookOperation;
  /** What the hooks are told before the operation; a function may read the store. */
  facts?: HookFacts | (() => Promise<HookFacts>);
  /** What the `after` hooks are told in addition, from the operation's result. */
  resultFacts?: (result: T) => HookFacts;
  /**
   * Why a result that did not throw is still a failure (a verification that found damage,
   * maintenance that found corruption): the `failure` hooks run with it as `BACKUP_ERROR`
   * instead of the `after` hooks. Default: every result is a success.
   */
  failureOf?: (result: T) => string | undefined;
  /** The operation in words for a refusal, e.g. `back up "app.db"` or `restore backup "full_…"`. */
  what: string;
  /** Kills a running `before` hook (and stops the operation) when aborted. */
  signal?: AbortSignal;
}

/** Variables of ours a hook may see (plus `LC_*`): none can hold a secret. */
const PASSED = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"];

/** `PATH` for a hook when we have none. */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * Runs `fn` between the context's hooks for `operation`: `before` (a failure throws
 * {@linkcode HookFailedError} before `fn` runs, after the `failure` hooks), then `after` on
 * success or `failure` when `fn` throws. Without hooks for `operation` it is just `fn()`.
 */
export async function withHooks<T>(
  context: ServiceContext,
  options: WithHooksOptions<T>,
  fn: () => Promise<T>,
): Promise<T> {
  const settings = context.hooks;
  const hooksOf = (stage: HookStage) =>
    (settings?.[stage] ?? []).filter((hook) =>
      (hook.on ?? DEFAULT_HOOK_OPERATIONS).includes(options.operation)
    );
  const before = hooksOf("before");
  const after = hooksOf("after");
  const failure = hooksOf("failure");
  if (!settings || before.length + after.length + failure.length === 0) return await fn();
  const started = context.clock.now().getTime();
  const facts = {
    engine: context.engine.kind,
    database: context.engine.redact(context.database),
    store: redactStore(context.storage.location),
    ...(typeof options.facts === "function" ? await options.facts() : options.facts),
  };
  const run = (stage: HookStage, hook: Hook, extra: Record<string, string>) =>
    runHook(context, settings, {
      stage,
      hook,
      operation: options.operation,
      variables: {
        ...factVariables(facts),
        BACKUP_DURATION_MS: String(Math.max(0, context.clock.now().getTime() - started)),
        ...extra,
      },
      signal: stage === "before" ? options.signal : undefined,
    });
  const failed = async (error: unknown) => {
    for (const hook of failure) {
      const outcome = await run("failure", hook, { BACKUP_ERROR: oneLine(messageOf(error)) });
      warnIfFailed(context, "failure", hook, outcome, options.operation);
    }
  };
  for (const hook of before) {
    const outcome = await run("before", hook, {});
    if (outcome.kind === "exited" && outcome.code === 0) continue;
    const error = outcome.kind === "aborted"
      ? new InterruptedError(
        `Stopped before ${options.operation}: interrupted while hook before "${
          hookName(hook)
        }" ran, nothing was done`,
      )
      : new HookFailedError(
        `Cannot ${options.what}: hook before "${hookName(hook)}" ${
          describeOutcome(outcome, hook)
        } (nothing was done; its output is above)`,
      );
    await failed(error);
    throw error;
  }
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await failed(error);
    throw error;
  }
  const failedBecause = options.failureOf?.(result);
  if (failedBecause !== undefined) {
    await failed(new Error(failedBecause));
    return result;
  }
  const done = options.resultFacts ? factVariables(options.resultFacts(result)) : {};
  for (const hook of after) {
    const outcome = await run("after", hook, done);
    warnIfFailed(context, "after", hook, outcome, options.operation);
  }
  return result;
}

/** The facts of a backup's sidecar: its id, type, size, SHA-256 and (local store) data file. */
export function backupFacts(storage: Storage, meta: BackupMeta): HookFacts {
  return {
    id: meta.id,
    type: meta.type,
    sha256: meta.file.sha256,
    size: meta.sizes.compressed,
    ...(storage instanceof LocalStorage ? { file: resolve(storage.location, meta.file.name) } : {}),
  };
}

/**
 * The name a hook's lines and entries carry: its `name`, else the program's base name (for a
 * shell script, its first word). Never the arguments: a URL among them may hold a token.
 */
export function hookName(hook: Hook): string {
  if (hook.name) return hook.name;
  const program = typeof hook.command === "string"
    ? hook.command.trim().split(/\s+/)[0] ?? "sh"
    : hook.command[0] ?? "";
  return basename(program) || "sh";
}

/**
 * The environment a hook runs with: our harmless variables, the run's `BACKUP_*` ones and the
 * hook's own `env`. Pure: `ours` is given.
 */
export function hookEnvironment(
  ours: Record<string, string | undefined>,
  variables: Record<string, string>,
  own: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(ours)) {
    if (value !== undefined && (PASSED.includes(name) || /^LC_[A-Z_]+$/.test(name))) {
      env[name] = value;
    }
  }
  env.PATH ??= DEFAULT_PATH;
  return { ...env, ...variables, ...own };
}

/** The argv a hook runs: its own, or `/bin/sh -c SCRIPT`; a relative program is `cwd`'s. */
export function hookArgv(hook: Hook, cwd: string): string[] {
  if (typeof hook.command === "string") {
    if (!hook.shell) {
      throw new UsageError(
        `Cannot run hook "${
          hookName(hook)
        }": a command given as one string needs "shell": true (or give it as a list: ["systemctl", "stop", "app"])`,
      );
    }
    return ["/bin/sh", "-c", hook.command];
  }
  if (hook.shell) {
    throw new UsageError(
      `Cannot run hook "${
        hookName(hook)
      }": "shell": true takes the command as one string, not a list`,
    );
  }
  if (hook.command.length === 0 || hook.command[0] === "") {
    throw new UsageError(`Cannot run a hook with an empty command`);
  }
  const [program, ...args] = hook.command;
  return [program.includes("/") && !isAbsolute(program) ? join(cwd, program) : program, ...args];
}

interface HookRun {
  stage: HookStage;
  hook: Hook;
  operation: HookOperation;
  variables: Record<string, string>;
  signal?: AbortSignal;
}

/** Runs one hook: its process, its output as events, its audit entry. */
async function runHook(
  context: ServiceContext,
  settings: HookSettings,
  run: HookRun,
): Promise<HookProcessOutcome> {
  const { hook, stage } = run;
  const name = hookName(hook);
  const base = settings.cwd ?? Deno.cwd();
  const cwd = hook.cwd ? resolve(base, hook.cwd) : base;
  const argv = hookArgv(hook, cwd);
  const env = hookEnvironment(settings.environment ?? processEnvironment(), {
    BACKUP_OPERATION: run.operation,
    BACKUP_HOOK: stage,
    ...run.variables,
  }, hook.env);
  const outcome = await runHookProcess({
    argv,
    cwd,
    env,
    timeoutMs: hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
    killGraceMs: settings.killGraceMs ?? DEFAULT_HOOK_KILL_GRACE_MS,
    signal: run.signal,
    maxOutputChars: settings.maxOutputChars ?? DEFAULT_HOOK_OUTPUT_CHARS,
    maxLineChars: 4096,
    drainMs: 1000,
    onLine: (stream, line) =>
      emit(context, {
        type: "hook-output",
        time: context.clock.now(),
        hook: name,
        stage,
        stream,
        line,
      }),
  });
  if (outcome.dropped > 0) {
    emit(context, {
      type: "hook-output",
      time: context.clock.now(),
      hook: name,
      stage,
      stream: "stderr",
      line: `(${outcome.dropped} more characters of output not shown)`,
    });
  }
  const ok = outcome.kind === "exited" && outcome.code === 0;
  await recordAction(context, {
    action: "hook",
    target: name,
    outcome: ok ? "ok" : "failed",
    ...(ok ? {} : { error: `hook ${stage} "${name}" ${describeOutcome(outcome, hook)}` }),
    details: {
      stage,
      operation: run.operation,
      ...(outcome.kind === "exited" ? { exitCode: outcome.code } : { ended: outcome.kind }),
      ...(outcome.kind === "exited" && outcome.signal ? { signal: outcome.signal } : {}),
      durationMs: outcome.durationMs,
      ...(run.variables.BACKUP_ID ? { backup: run.variables.BACKUP_ID } : {}),
    },
  });
  return outcome;
}

/** A listener's failure never fails a run. */
function emit(
  context: ServiceContext,
  event: Parameters<NonNullable<ServiceContext["onEvent"]>>[0],
) {
  try {
    context.onEvent?.(event);
  } catch {
    // a log that cannot print a hook's line must not stop the hook
  }
}

function warnIfFailed(
  context: ServiceContext,
  stage: HookStage,
  hook: Hook,
  outcome: HookProcessOutcome,
  operation: HookOperation,
): void {
  if (outcome.kind === "exited" && outcome.code === 0) return;
  emit(context, {
    type: "warning",
    time: context.clock.now(),
    message: `Hook ${stage} "${hookName(hook)}" ${
      describeOutcome(outcome, hook)
    } (the ${operation} ${stage === "after" ? "succeeded" : "failed"} all the same)`,
  });
}

/** How a hook ended, in words: `exited with status 3`, `did not finish within 5m and was killed`. */
function describeOutcome(outcome: HookProcessOutcome, hook: Hook): string {
  switch (outcome.kind) {
    case "exited":
      return outcome.signal
        ? `was killed by ${outcome.signal}`
        : `exited with status ${outcome.code}`;
    case "timeout":
      return `did not finish within ${
        formatMs(hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS)
      } and was killed`;
    case "aborted":
      return "was stopped by an interrupt";
    case "unstartable":
      return `could not start: ${outcome.message} (check its command and cwd)`;
  }
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function factVariables(facts: HookFacts): Record<string, string> {
  const env: Record<string, string> = {};
  const set = (name: string, value: string | number | undefined) => {
    if (value !== undefined) env[name] = String(value);
  };
  set("BACKUP_ID", facts.id);
  set("BACKUP_TYPE", facts.type);
  set("BACKUP_DATABASE", facts.database);
  set("BACKUP_ENGINE", facts.engine);
  set("BACKUP_STORE", facts.store);
  set("BACKUP_FILE", facts.file);
  set("BACKUP_SHA256", facts.sha256);
  set("BACKUP_SIZE", facts.size);
  return env;
}

/** A store's location without any user or password a URL may carry. */
function redactStore(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

/** The process's environment, or none when this process may not read it. */
function processEnvironment(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}
