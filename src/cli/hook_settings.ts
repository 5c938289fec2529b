/**
 * The `hooks` settings as the core's {@linkcode HookSettings}, and how the command line shows a
 * hook's output: on stderr, each line prefixed with the hook's name (so cron mails it), or as a
 * JSON log line with `log.format: json`.
 */
import { dirname, resolve } from "node:path";
import type { Config } from "../config/schema.ts";
import { parseDuration } from "../config/duration.ts";
import type { Hook, HookSettings } from "../core/hooks.ts";
import type { HookOutputEvent } from "../core/events.ts";
import { formatLogLine, hookPrefix } from "./log.ts";
import type { CommandDeps } from "./deps.ts";

/**
 * The hooks `config` sets, run in the config file's directory (relative `cwd`s too; without a
 * file, the working directory), with our environment to pass `PATH`, `HOME`… on from. Undefined
 * when no hook is set.
 */
export function hookSettingsFor(config: Config, deps: CommandDeps): HookSettings | undefined {
  const { before, after, failure } = config.hooks;
  if (before.length + after.length + failure.length === 0) return undefined;
  const cwd = deps.io.cwd ?? Deno.cwd();
  const file = deps.configPath?.();
  const hook = (h: Config["hooks"]["before"][number]): Hook => ({
    command: h.command,
    shell: h.shell,
    ...(h.name ? { name: h.name } : {}),
    ...(h.on ? { on: h.on } : {}),
    timeoutMs: parseDuration(h.timeout)!,
    ...(h.cwd ? { cwd: h.cwd } : {}),
    ...(h.env ? { env: h.env } : {}),
  });
  return {
    before: before.map(hook),
    after: after.map(hook),
    failure: failure.map(hook),
    cwd: file ? dirname(resolve(cwd, file)) : cwd,
    environment: deps.io.env,
  };
}

/** A hook's output line as the command line prints it on stderr. */
export function hookLine(event: HookOutputEvent, format: Config["log"]["format"]): string {
  return format === "json" ? formatLogLine(event, "json")! : `${hookPrefix(event)} ${event.line}\n`;
}
