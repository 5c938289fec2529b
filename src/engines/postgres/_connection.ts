/**
 * Where a PostgreSQL database is and how to open a connection to it. A location is a URL
 * (`postgres://user:pass@host:port/db?sslmode=require`, `?host=/socket/dir`, a percent-encoded
 * socket directory as the host) whose blanks are filled from the libpq variables (`PGHOST`,
 * `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGCONNECT_TIMEOUT`), so that
 * `postgres://` alone means "what psql would connect to". The password lives only in the
 * connection options handed to postgres.js: never in a message, a sidecar or a child's argv.
 */
import net from "node:net";
import postgres from "npm:postgres@3.4.9";
import { DatabaseError, DatabaseNotFoundError, UsageError } from "../../core/errors.ts";
import type { ErrorSniffer } from "./_error_sniffer.ts";
import { BackendKeyReader, sendCancel } from "./_cancel.ts";
import { catalogArrayTypes } from "./_array_types.ts";
import { dropStrayWrites } from "./_stray_write.ts";

/** Everything needed to open a connection; `password` must never be printed. */
export interface ConnectionConfig {
  /** Host name or address; for a unix socket, the directory holding it. */
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** libpq `sslmode`: `disable` (default), `prefer`, `require`, `verify-ca`, `verify-full`. */
  sslMode: string;
  /** Seconds to wait for the server before giving up. */
  connectTimeout: number;
  /**
   * The run's abort signal (the stall watchdog, SIGINT): when it aborts, every connection opened
   * with this config has its running query cancelled (`_cancel.ts`), so a lock wait lets go and
   * the run fails and rolls back. It rides on the config because the config reaches every
   * connection an operation opens (lanes, load databases), however deep.
   */
  signal?: AbortSignal;
}

/** The variables a location may take its blanks from. */
export type Environment = Record<string, string | undefined>;

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** Reads a `postgres://` / `postgresql://` location, filling blanks from `env` as libpq does. */
export function parseLocation(location: string, env: Environment = {}): ConnectionConfig {
  let url: URL;
  try {
    url = new URL(location.replace(/^postgresql:/i, "postgres:"));
  } catch {
    throw new UsageError(
      `Invalid PostgreSQL URL "${
        redactUrl(location)
      }": expected postgres://user@host:port/database`,
    );
  }
  const query = url.searchParams;
  const host = query.get("host") || decode(url.hostname) || env.PGHOST || defaultHost();
  const port = Number(query.get("port") || url.port || env.PGPORT || 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new UsageError(`Invalid port in PostgreSQL URL "${redactUrl(location)}"`);
  }
  const user = decode(url.username) || query.get("user") || env.PGUSER || env.USER || "postgres";
  const password = decode(url.password) || query.get("password") || env.PGPASSWORD || undefined;
  const database = decode(url.pathname.replace(/^\//, "")) || query.get("dbname") ||
    env.PGDATABASE || user;
  const sslMode = query.get("sslmode") || env.PGSSLMODE || "disable";
  if (!SSL_MODES.includes(sslMode)) {
    throw new UsageError(
      `Invalid sslmode "${sslMode}": expected one of ${SSL_MODES.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  const connectTimeout = Number(query.get("connect_timeout") || env.PGCONNECT_TIMEOUT || 30);
  return {
    host,
    port,
    user,
    password,
    database,
    sslMode,
    connectTimeout: connectTimeout > 0 ? connectTimeout : 30,
  };
}

/** The same server, another database: `--to otherdb` resolves against the source this way. */
export function withDatabase(config: ConnectionConfig, database: string): ConnectionConfig {
  return { ...config, database };
}

/** `postgres://user@host:port/db` without the password, for messages, logs and sidecars. */
export function describeConfig(config: ConnectionConfig): string {
  return `postgres://${encodeURIComponent(config.user)}@${hostLabel(config)}/${
    encodeURIComponent(config.database)
  }`;
}

/** `host:port`, or the socket path for a unix socket. */
export function hostLabel(config: ConnectionConfig): string {
  return isSocket(config)
    ? `${encodeURIComponent(config.host)}:${config.port}`
    : `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
}

/** A URL with any password removed; text that is no URL is shown up to its `@`. */
export function redactUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.password) url.password = "";
    for (const name of ["password"]) {
      if (url.searchParams.has(name)) url.searchParams.set(name, "redacted");
    }
    return url.toString();
  } catch {
    return location.replace(/\/\/[^@/]*@/, "//…@");
  }
}

/** How often an aborted run's connections have their running query cancelled again. */
const RECANCEL_MS = 500;

/** Options of {@linkcode openConnection}. */
export interface OpenOptions {
  /** Connections in the pool. Default 1. */
  max?: number;
  /** Also read server errors off the wire (see `_error_sniffer.ts`). Default `false`. */
  sniffer?: ErrorSniffer;
}

/** A postgres.js client and the sockets it runs on (see {@linkcode resumeSockets}). */
export interface Connection {
  sql: postgres.Sql;
  config: ConnectionConfig;
  /**
   * Resumes every socket of this client. postgres.js 3.4.9 leaves its socket paused when a COPY
   * TO STDOUT stream ends while backpressured, and the next query never returns (porsager/
   * postgres#499); calling this when a COPY stream ends is the workaround.
   */
  resumeSockets(): void;
  end(): Promise<void>;
}

/**
 * Opens a client with our own sockets (for the COPY workaround and a connect timeout that
 * covers the TCP handshake), session settings that make COPY output exact and stable
 * (ISO dates, postgres interval style, shortest-exact floats), and the catalogs' array types
 * parsed into arrays on every connection alike (`_array_types.ts`). Connecting is lazy in
 * postgres.js; call {@linkcode checkConnection} to surface connection errors early.
 */
export function openConnection(config: ConnectionConfig, options: OpenOptions = {}): Connection {
  dropStrayWrites();
  const sockets = new Set<net.Socket>();
  const keys = new Map<net.Socket, BackendKeyReader>();
  let recancel: ReturnType<typeof setInterval> | undefined;
  const cancelAll = () => {
    const target = isSocket(config)
      ? { path: `${config.host.replace(/\/$/, "")}/.s.PGSQL.${config.port}` }
      : { host: config.host, port: config.port };
    for (const reader of keys.values()) {
      if (reader.key) void sendCancel(target, reader.key);
    }
  };
  // A cancel that lands between two statements is lost and the next one may wait for the lock
  // again: cancel again until the connection ends (its cleanup is a ROLLBACK, or nothing).
  const onAbort = () => {
    cancelAll();
    const timer = setInterval(cancelAll, RECANCEL_MS);
    Deno.unrefTimer(Number(timer));
    recancel = timer;
  };
  config.signal?.addEventListener("abort", onAbort, { once: true });
  const ssl = config.sslMode === "disable" || config.sslMode === "allow"
    ? false
    : config.sslMode === "prefer"
    ? "prefer"
    : config.sslMode === "require"
    ? "require"
    : config.sslMode === "verify-ca"
    ? "verify-ca"
    : "verify-full";
  // `socket` is a documented option missing from the package's types; `types` only parses
  // results, so the client keeps the plain `Sql` type.
  const settings = {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password ?? "",
    database: config.database,
    ssl,
    max: options.max ?? 1,
    connect_timeout: config.connectTimeout,
    idle_timeout: 0,
    max_lifetime: null,
    prepare: false,
    // No type fetch at connect; the catalogs' array types are parsed by our own table instead.
    fetch_types: false,
    types: catalogArrayTypes(),
    onnotice: () => {},
    connection: {
      application_name: "backup-manager",
      DateStyle: "ISO",
      IntervalStyle: "postgres",
      extra_float_digits: "3",
      statement_timeout: "0",
      lock_timeout: "0",
      idle_in_transaction_session_timeout: "0",
    } as Record<string, string>,
    socket: async () => {
      const socket = await openSocket(config);
      sockets.add(socket);
      const keyReader = new BackendKeyReader();
      keys.set(socket, keyReader);
      socket.once("close", () => {
        sockets.delete(socket);
        keys.delete(socket);
      });
      if (config.signal) {
        const readKey = (data: Uint8Array) => {
          keyReader.feed(data);
          if (!keyReader.reading) socket.off("data", readKey);
        };
        socket.on("data", readKey);
      }
      const sniffer = options.sniffer;
      if (sniffer) socket.on("data", (data: Uint8Array) => sniffer.feed(data));
      return socket;
    },
  };
  const sql = postgres(settings as unknown as postgres.Options<Record<string, never>>);
  return {
    sql,
    config,
    resumeSockets: () => sockets.forEach((s) => s.resume()),
    end: () => {
      config.signal?.removeEventListener("abort", onAbort);
      clearInterval(recancel);
      return sql.end({ timeout: 5 });
    },
  };
}

/** Runs a trivial query so that a failure to connect becomes a clear, typed error now. */
export async function checkConnection(connection: Connection): Promise<void> {
  try {
    await connection.sql`SELECT 1`;
  } catch (error) {
    throw connectionError(error, connection.config);
  }
}

/**
 * The one-line, typed error for a failure to connect: refused, unknown host, timeout, wrong
 * password, unknown database (exit 3), other authentication failures. Never shows the password.
 */
export function connectionError(error: unknown, config: ConnectionConfig): Error {
  if (error instanceof DatabaseError || error instanceof DatabaseNotFoundError) return error;
  const where = `"${describeConfig(config)}"`;
  const e = error as { code?: string; message?: string };
  const code = e?.code ?? "";
  const make = (problem: string) =>
    new DatabaseError(`Cannot connect to PostgreSQL at ${where}: ${problem}`, { cause: error });
  switch (code) {
    case "3D000":
      return new DatabaseNotFoundError(
        `Cannot open database ${where}: it does not exist on the server (check the database name, or use --create when restoring)`,
        { cause: error },
      );
    case "28P01":
      return make(
        `password authentication failed for user "${config.user}" (${
          config.password === undefined
            ? "no password was given: set PGPASSWORD or put it in the URL"
            : "check the password in PGPASSWORD or the URL"
        })`,
      );
    case "28000":
      return make(`the server rejected user "${config.user}" (${oneLine(e.message)})`);
    case "ECONNREFUSED":
      return make("connection refused (is the server running and listening there?)");
    case "ENOENT":
      return make(`no server socket in "${config.host}" (is the server running?)`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return make(`unknown host "${config.host}" (check the host name)`);
    case "CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return make(
        `no answer within ${config.connectTimeout} s (check the host, port and firewall; connect_timeout sets the wait)`,
      );
    case "SASL_SIGNATURE_MISMATCH":
      return make("the server's SCRAM signature did not match (is this the right server?)");
  }
  if (/password/i.test(e?.message ?? "") && code !== "" && !/^\d/.test(code)) {
    return make(
      "the server asks for a password and none was given (set PGPASSWORD or put it in the URL)",
    );
  }
  return make(oneLine(e?.message ?? String(error)));
}

function oneLine(text: string | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

function openSocket(config: ConnectionConfig): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = isSocket(config)
      ? net.connect(`${config.host.replace(/\/$/, "")}/.s.PGSQL.${config.port}`)
      : net.connect(config.port, config.host);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error("connect timeout"), { code: "CONNECT_TIMEOUT" }));
    }, config.connectTimeout * 1000);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function isSocket(config: ConnectionConfig): boolean {
  return config.host.startsWith("/");
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** libpq's default: the Debian socket directory when a server listens there, else localhost. */
function defaultHost(): string {
  try {
    Deno.statSync("/var/run/postgresql");
    return "/var/run/postgresql";
  } catch {
    return "localhost";
  }
}
