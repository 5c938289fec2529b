import type { Command } from "npm:commander@15.1.0";
import {
  type CommandDeps,
  flagSetting,
  locationFlags,
  serviceContext,
  settingsFor,
  withLocationOptions,
} from "../deps.ts";
import type { SettingValue } from "../../config/environment.ts";
import type { Config } from "../../config/schema.ts";
import { databaseStatusOptions, healthPolicyOf } from "../../config/health_policy.ts";
import { ExitCode, messageOf, UsageError } from "../../core/errors.ts";
import { JobRegistry } from "../../core/jobs.ts";
import { type ApiToken, FailureThrottle, hashToken } from "../../api/auth.ts";
import type { ApiApp } from "../../api/app.ts";
import { toApiError } from "../../api/http_errors.ts";
import { Coalescer } from "../../api/coalescer.ts";
import { formatAccessLine, formatLogLine } from "../log.ts";
import { destinationsFor } from "../destinations.ts";
import { runReporterFor } from "../notifications.ts";
import { policyOf } from "./cleanup.ts";
import { scheduleOf, scheduleRuns } from "./auto.ts";
import { checkSchedule } from "../../core/schedule.ts";

const HELP = `
Every endpoint but GET /healthz needs "Authorization: Bearer <token>": tokens are configured
hashed in "api.tokens" ([{name, sha256, role}], made by the token command), or one admin token
comes from BACKUP_API_TOKEN. The server refuses to start without a token, and refuses plain HTTP
on an address other than loopback unless --insecure-http says a TLS-terminating proxy is in front.
With a schedule set (--every/--cron of auto, BACKUP_INTERVAL, BACKUP_CRON or "schedule"), the
scheduler runs in the same process and takes the same lock as API requests.
Logs go to stdout: one line per request (never a token) and per action.
SIGINT/SIGTERM: running jobs and the scheduler's cycle finish, then serve exits 0; a second
signal abandons them cleanly (exit 130).

Examples:
  $ BACKUP_API_TOKEN=$(cat /run/secrets/api-token) backup-manager serve
  $ backup-manager serve --listen 0.0.0.0:8443 --tls-cert /etc/ssl/bm.pem --tls-key /etc/ssl/bm.key
  $ backup-manager serve --listen 0.0.0.0:8000 --insecure-http   # behind a TLS proxy
  $ curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8000/api/backup?action=status'`;

/** Typed arguments of `serve`. */
export interface ServeArgs {
  settings: SettingValue[];
  database?: string;
  dir?: string;
}

/** Checks and types the raw options of `serve`; values are checked with the settings. */
export function parseServeArgs(raw: Record<string, unknown>): ServeArgs {
  return {
    settings: [
      flagSetting("api.listen", "--listen", raw.listen),
      flagSetting("api.tls.cert", "--tls-cert", raw.tlsCert),
      flagSetting("api.tls.key", "--tls-key", raw.tlsKey),
      flagSetting("api.insecureHttp", "--insecure-http", raw.insecureHttp),
      flagSetting("log.format", "--log-format", raw.logFormat),
    ],
    database: raw.database as string | undefined,
    dir: raw.dir as string | undefined,
  };
}

/** The configured tokens plus `BACKUP_API_TOKEN` (an admin token), by hash only. */
export function tokensOf(config: Config, env: Record<string, string | undefined>): ApiToken[] {
  const tokens: ApiToken[] = [...config.api.tokens];
  const fromEnv = env.BACKUP_API_TOKEN?.trim();
  if (fromEnv) {
    if (fromEnv.length < 16 || /[^\x21-\x7e]/.test(fromEnv)) {
      throw new UsageError(
        'Invalid BACKUP_API_TOKEN: expected at least 16 printable characters without spaces (make one with "backup-manager token")',
      );
    }
    tokens.push({ name: "BACKUP_API_TOKEN", sha256: hashToken(fromEnv), role: "admin" });
  }
  return tokens;
}

/** Which layer set the listen address, for its error message. */
function listenSource(args: ServeArgs, env: Record<string, string | undefined>): string {
  if (args.settings.some((s) => s.path === "api.listen" && s.value !== undefined)) {
    return "--listen";
  }
  return env.BACKUP_API_LISTEN?.trim() ? "BACKUP_API_LISTEN" : "api.listen";
}

async function readPem(path: string, setting: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read "${path}" (${setting}): ${messageOf(error)}`);
  }
}

/** Serves the API, the dashboard and (with a schedule) the scheduler until a signal. */
export async function runServe(args: ServeArgs, deps: CommandDeps): Promise<number> {
  // The server, its routes and the metrics library load only here: every other command starts
  // without them.
  const { parseListen, startApiServer } = await import("../../api/server.ts");
  const config = settingsFor(deps, [...locationFlags(args), ...args.settings]);
  const tokens = tokensOf(config, deps.io.env);
  const listen = parseListen(config.api.listen, listenSource(args, deps.io.env));
  const tls = config.api.tls
    ? {
      cert: await readPem(config.api.tls.cert, "api.tls.cert"),
      key: await readPem(config.api.tls.key, "api.tls.key"),
    }
    : undefined;
  const schedule = scheduleOf(config);
  if (schedule) checkSchedule(schedule);
  const format = config.log.format;
  const print = (line: string | undefined) => line && deps.io.stdout(line);
  const warn = (message: string) =>
    print(formatLogLine({ type: "warning", time: deps.clock.now(), message }, format));
  const { interrupts } = deps;
  interrupts.allowGracefulStop();
  const shared = new Coalescer();
  const app: ApiApp = {
    context: {
      ...serviceContext(config, deps),
      actor: "api",
      onEvent: (event) => print(formatLogLine(event, format)),
    },
    destinations: destinationsFor(config, deps),
    retention: policyOf(config),
    timeZone: config.timezone,
    healthPolicy: healthPolicyOf(config.health),
    databaseHealth: databaseStatusOptions(config.health),
    tokens,
    jobs: new JobRegistry({
      clock: deps.clock,
      describeError: (error) => {
        const { code, message } = toApiError(error);
        return { code, message };
      },
      onFinished: () => shared.invalidate(),
    }),
    throttle: new FailureThrottle(),
    shared,
    stop: interrupts.stop,
    signal: interrupts.abort,
    reporting: (context) => runReporterFor(config, context, deps, warn),
    log: (entry) => print(formatAccessLine(entry, format)),
    warn,
  };
  const server = await startApiServer(app, {
    listen,
    tls,
    insecureHttp: config.api.insecureHttp,
  });
  announceStart(server.url, tokens, schedule !== undefined, print, format, deps);
  const scheduling = schedule
    ? scheduleRuns(config, deps, { schedule, once: false, copyTo: [] })
    : undefined;
  if (!interrupts.stop.aborted) {
    await new Promise((resolve) =>
      interrupts.stop.addEventListener("abort", resolve, { once: true })
    );
  }
  const running = app.jobs.running().length;
  warn(
    running
      ? `stopping: waiting for ${running} running job(s) (a second signal abandons them)`
      : "stopping",
  );
  await Promise.all([app.jobs.idle(), scheduling]);
  await server.shutdown();
  return interrupts.abort.aborted ? ExitCode.Interrupted : ExitCode.Ok;
}

/** The start-up line: where, who may call, whether the scheduler runs. */
function announceStart(
  url: string,
  tokens: ApiToken[],
  scheduled: boolean,
  print: (line: string | undefined) => void,
  format: Config["log"]["format"],
  deps: CommandDeps,
): void {
  const who = tokens.map((t) => `${t.name} (${t.role})`).join(", ");
  const message = `serving the API and dashboard on ${url}; tokens: ${who}${
    scheduled ? "; the scheduler runs in this process" : ""
  }`;
  if (format === "json") {
    print(
      JSON.stringify({
        time: deps.clock.now().toISOString(),
        level: "info",
        event: "serve-start",
        message,
        url,
      }) + "\n",
    );
  } else print(`${deps.clock.now().toISOString().replace(/\.\d{3}Z$/, "Z")} info  ${message}\n`);
}

/** Registers `serve`. */
export function registerServe(program: Command, deps: CommandDeps): void {
  const command = program.command("serve")
    .description("run the REST API, the dashboard and metrics (and the scheduler, if set)")
    .option(
      "--listen <host:port>",
      "address to listen on (env BACKUP_API_LISTEN, default 127.0.0.1:8000)",
    )
    .option("--tls-cert <file>", "PEM certificate chain: serve HTTPS (with --tls-key)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--insecure-http", "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
    .option("--log-format <format>", "human or json (env BACKUP_LOG_FORMAT)")
    .addHelpText("after", HELP);
  withLocationOptions(command).action(async (raw) => {
    deps.setExitCode(await runServe(parseServeArgs(raw), deps));
  });
}
