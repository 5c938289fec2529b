/**
 * The HTTP server: `Deno.serve` over the request handler, on the address `serve` was given, with
 * TLS when a certificate is set. A non-loopback address without TLS is refused unless the caller
 * says a proxy in front terminates it: tokens must never cross a network in clear text.
 */
import { UsageError } from "../core/errors.ts";
import type { ApiApp } from "./app.ts";
import { createHandler } from "./handler.ts";
import { ROUTES } from "./routes.ts";

/** Where to listen: `HOST:PORT` (`[::1]:8000` for IPv6; port 0 picks a free one). */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** Parses `api.listen`; throws a one-line `UsageError` naming `setting`. */
export function parseListen(text: string, setting = "--listen"): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UsageError(
      `Invalid value "${text}" for ${setting}: expected HOST:PORT, e.g. 127.0.0.1:8000 or [::1]:8000`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}

/** Whether connections to `hostname` stay on this machine. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Options of {@linkcode startApiServer}. */
export interface ServerOptions {
  listen: ListenAddress;
  /** PEM certificate chain and key; absent: plain HTTP. */
  tls?: { cert: string; key: string };
  /** Allow plain HTTP on a non-loopback address (a TLS-terminating proxy in front). */
  insecureHttp?: boolean;
}

/** A running server. */
export interface ApiServer {
  /** The base URL, e.g. `http://127.0.0.1:8000`. */
  url: string;
  port: number;
  /** Stops accepting connections and waits for the answers in flight. */
  shutdown(): Promise<void>;
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
}

/** Starts serving `app`; refuses a setup that would send tokens in clear text. */
export async function startApiServer(app: ApiApp, options: ServerOptions): Promise<ApiServer> {
  const { hostname, port } = options.listen;
  if (app.tokens.length === 0) {
    throw new UsageError(
      'Cannot start the API without a token (make one with "backup-manager token", then set BACKUP_API_TOKEN or "api.tokens")',
    );
  }
  if (!options.tls && !isLoopback(hostname) && !options.insecureHttp) {
    throw new UsageError(
      `Cannot serve plain HTTP on "${hostname}": tokens would cross the network in clear text (use --tls-cert and --tls-key, or --insecure-http behind a TLS-terminating proxy)`,
    );
  }
  const ready = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      onListen: (addr) => ready.resolve(addr),
      onError: (error) => {
        app.warn?.(`request failed: ${error instanceof Error ? error.message : String(error)}`);
        return new Response("Internal error\n", { status: 500 });
      },
    }, createHandler(app, ROUTES));
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`Cannot listen on ${hostname}:${port}: the address is in use`);
    }
    if (
      error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.AddrNotAvailable
    ) {
      throw new UsageError(`Cannot listen on ${hostname}:${port}: ${error.message}`);
    }
    if (options.tls && error instanceof Error) {
      throw new UsageError(`Cannot start TLS: ${error.message} (check --tls-cert and --tls-key)`);
    }
    throw error;
  }
  const addr = await ready.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `${options.tls ? "https" : "http"}://${host}:${addr.port}`,
    port: addr.port,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}
