/**
 * postgres.js 3.4.9 sends its write buffer from a `setImmediate`. When the server closes a
 * reserved connection (a transaction's) in between — the server crashed, or a
 * `pg_terminate_backend` — the next statement of that transaction schedules a write on a socket
 * the library has already set to `null`, and the scheduled write throws a TypeError outside any
 * promise. Uncaught, that ends the whole process with exit 1 and a stack trace, before the
 * transaction's own `CONNECTION_CLOSED` rejection reaches the command and its one-line exit 8
 * (found by the server-death drills, `tests/e2e/drills_pg_server_test.ts`). Only that exact throw
 * is dropped; the connection's error still reaches the caller, and every other uncaught error is
 * left alone.
 */

/**
 * Whether `error` is postgres.js's write on a closed connection's `null` socket, or what Deno's
 * immediate queue throws next, once that throw has cut a run of immediates short (its list then
 * holds a link to an immediate already gone: `_idleNext` of undefined, from `runImmediates`; seen
 * by the same drills, one crash in five).
 */
export function isStrayWrite(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  const stack = error.stack ?? "";
  if (
    error.message === "Cannot read properties of undefined (reading '_idleNext')" &&
    /\brunImmediates\b/.test(stack) && /ext:core\/01_core\.js/.test(stack)
  ) {
    return true;
  }
  return error.message === "Cannot read properties of null (reading 'write')" &&
    /\bnextWrite\b/.test(stack) && /postgres[/\\]src[/\\]connection\.js/.test(stack);
}

let installed = false;

/** Installs the process-wide filter once (idempotent): see the module comment. */
export function dropStrayWrites(): void {
  if (installed) return;
  installed = true;
  globalThis.addEventListener("error", (event) => {
    if (isStrayWrite(event.error)) event.preventDefault();
  });
}
