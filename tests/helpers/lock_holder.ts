/**
 * A separate process for lock tests: `deno run -A lock_holder.ts DIR HOLD_MS [WAIT_FOR_FILE]`.
 * With WAIT_FOR_FILE, prints `ready` and waits until that file exists (a start line for races).
 * Then tries the lock, prints `won` or `busy`, holds a won lock for HOLD_MS, and releases it.
 */
import { acquireLock } from "../../src/core/lock.ts";
import { LockBusyError } from "../../src/core/errors.ts";

const [directory, holdMs, startFile] = Deno.args;
if (startFile) {
  console.log("ready");
  while (!(await Deno.stat(startFile).then(() => true, () => false))) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
try {
  const lock = await acquireLock(directory, { command: `holder ${Deno.pid}` });
  console.log("won");
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  await lock.release();
} catch (error) {
  if (!(error instanceof LockBusyError)) throw error;
  console.log("busy");
}
