/**
 * An S3 client whose requests take a run's abort signal (the stall watchdog's): a request to a
 * server that accepted the connection and never answers is given up the moment the run is, not
 * after the client's own timeouts and retries. Requests started once the signal has aborted (the
 * failed run's cleanup: abort the upload, remove the object) go without it.
 */
import type { S3Client } from "npm:@aws-sdk/client-s3@3.1169.0";
import type { S3Clients } from "./_s3_client.ts";

/** `clients`, their requests abandoned when `signal` aborts (see the module doc). */
export function abortableClients(clients: S3Clients, signal: AbortSignal): S3Clients {
  return {
    control: abortableClient(clients.control, signal),
    read: abortableClient(clients.read, signal),
    host: clients.host,
  };
}

function abortableClient(client: S3Client, signal: AbortSignal): S3Client {
  const send = (command: unknown, options: { abortSignal?: AbortSignal } = {}) => {
    if (signal.aborted) return client.send(command as never, options);
    const abortSignal = options.abortSignal
      ? AbortSignal.any([signal, options.abortSignal])
      : signal;
    return client.send(command as never, { ...options, abortSignal });
  };
  // everything else (config, destroy, the middleware stack) is the client's own
  return Object.assign(Object.create(client), { send }) as S3Client;
}
