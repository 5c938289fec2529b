/**
 * What the API works on, built once by `serve`: the service context, the settings the CLI would
 * read for the same store, the tokens, and the jobs. Handlers get a {@linkcode RequestScope} with
 * a context that records the caller in the audit log.
 */
import type { ServiceContext } from "../core/context.ts";
import type { Destination } from "../core/copy.ts";
import type { HealthPolicy } from "../core/health.ts";
import type { JobRegistry } from "../core/jobs.ts";
import type { RetentionPolicy } from "../core/retention.ts";
import type { StatusOptions } from "../core/status.ts";
import type { ApiToken, FailureThrottle, Principal } from "./auth.ts";
import type { Coalescer } from "./coalescer.ts";

/** Pings and notifications of a run started over the API (as `create` sends them). */
export interface RunReporting {
  started(): Promise<void>;
  succeeded(backupId: string): Promise<void>;
  failed(message: string): Promise<void>;
}

/** One line of the access log: never a token, a body or a query string. */
export interface AccessLogEntry {
  time: Date;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  address: string;
  /** The token's name, when one was accepted. */
  token?: string;
}

/** The server's state. */
export interface ApiApp {
  /** The base context; each request gets a copy with `actor: "api"` and its caller. */
  context: ServiceContext;
  destinations: Destination[];
  retention: RetentionPolicy;
  /** The zone retention periods are counted in. */
  timeZone: string;
  healthPolicy: HealthPolicy;
  /** The database's own rules for the status route (absent: only the backups' rules). */
  databaseHealth?: Pick<StatusOptions, "database" | "checkTimeoutMs">;
  tokens: ApiToken[];
  jobs: JobRegistry;
  throttle: FailureThrottle;
  /** Shares concurrent reads of the listing and the status; see {@linkcode Coalescer}. */
  shared: Coalescer;
  /** Aborted when the server is stopping: running jobs finish, new ones are refused (503). */
  stop?: AbortSignal;
  /** Aborted when the server must abandon running jobs (a second signal). */
  signal?: AbortSignal;
  /** Pings and notifications for each create, when configured. */
  reporting?: (context: ServiceContext) => RunReporting;
  /** Receives one entry per answered request. */
  log?: (entry: AccessLogEntry) => void;
  /** Receives warnings and unexpected errors (with their stack), for the server's log. */
  warn?: (message: string) => void;
}

/** One request, authenticated. */
export interface RequestScope {
  app: ApiApp;
  request: Request;
  url: URL;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  principal: Principal;
  address: string;
  /** The app's context, acting as this caller. */
  context: ServiceContext;
}
