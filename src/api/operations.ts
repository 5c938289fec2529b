/**
 * The long operations of the API as jobs over the core: each checks what it can and takes the
 * lock before it answers (a bad id is a 404 and a busy lock a 409 at once, never a job that fails
 * later), then runs in the background reporting its progress.
 */
import type { z } from "npm:zod@4.6.7";
import { acquireLock, type Lock, lockDirectoryOf } from "../core/lock.ts";
import { checkDatabase, createBackup } from "../core/create.ts";
import { syncDestination, syncErrors, type SyncReport } from "../core/copy.ts";
import { verifyBackup } from "../core/verify.ts";
import { planRestore, restoreBackup, type RestorePlan } from "../core/restore.ts";
import { cleanupStores, type StoreCleanupReport } from "../core/cleanup.ts";
import { sweepAfterLock } from "../core/scratch_sweep.ts";
import { findBackup } from "../core/catalog.ts";
import { IntegrityError, LockBusyError, messageOf, RefusedError } from "../core/errors.ts";
import type { JobView } from "../core/jobs.ts";
import { metaView } from "./backup_view.ts";
import { ApiError } from "./http_errors.ts";
import type { RequestScope } from "./app.ts";
import type { CleanupBody, CreateBody, RestoreBody, VerifyBody } from "./schemas.ts";

/**
 * Takes the store's lock for `command`, or throws the busy 409 naming the holder; a stopping
 * server starts nothing new (503). Holding it, removes the stale leftovers of interrupted runs
 * unless `sweep` is false (cleanup removes and reports them itself).
 */
async function lock(scope: RequestScope, command: string, sweep = true): Promise<Lock> {
  if (scope.app.stop?.aborted) {
    throw new ApiError(
      503,
      "stopping",
      `Cannot ${command}: the server is stopping; try again later`,
    );
  }
  const { context } = scope;
  const held = await acquireLock(lockDirectoryOf(context), {
    command: `api ${command}`,
    clock: context.clock,
  });
  // holding the lock: what interrupted runs left goes first (audited; never fails the request)
  if (sweep) {
    await sweepAfterLock(context, {
      stores: [context.storage, ...scope.app.destinations.map((d) => d.storage)],
    });
  }
  return held;
}

/** Runs `fn` under the lock, for the short changes (pins) that answer at once. */
export async function underLock<T>(scope: RequestScope, command: string, fn: () => Promise<T>) {
  const held = await lock(scope, command);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** Starts a backup, then copies to every destination: `create` over HTTP. */
export async function startCreate(
  scope: RequestScope,
  body: z.infer<typeof CreateBody>,
): Promise<JobView> {
  const { app, context } = scope;
  await checkDatabase(context); // before the lock: a missing database touches nothing
  const held = await lock(scope, "create");
  const reporting = app.reporting?.(context);
  return app.jobs.start("create", { by: scope.principal.name, phase: "dumping" }, async (job) => {
    try {
      await reporting?.started();
      const tables = new Set<string>();
      let meta;
      try {
        meta = await createBackup(context, {
          type: body.type,
          description: body.description,
          pin: body.pin,
          signal: app.signal,
          onProgress: (p) => {
            tables.add(p.table);
            job.progress({
              bytes: p.bytes,
              rows: p.totalRows,
              table: p.table,
              tables: tables.size,
            });
          },
        });
      } catch (error) {
        if (!(error instanceof LockBusyError)) await reporting?.failed(messageOf(error));
        throw error;
      }
      job.setTarget(meta.id);
      const copies: SyncReport[] = [];
      for (const destination of app.destinations) {
        job.progress({ phase: "copying", table: undefined });
        copies.push(
          await syncDestination(context, destination, {
            timeZone: app.timeZone,
            signal: app.signal,
          }),
        );
      }
      const copyErrors = copies.flatMap(syncErrors);
      if (copyErrors.length) {
        await reporting?.failed(`Backup ${meta.id} was created, but: ${copyErrors.join("; ")}`);
      } else await reporting?.succeeded(meta.id);
      return { backup: metaView(meta), copies, copyErrors };
    } finally {
      await held.release();
    }
  });
}

/** Starts verifying a backup (with `restoreTest`, a restore into a scratch database too). */
export async function startVerify(
  scope: RequestScope,
  body: z.infer<typeof VerifyBody>,
): Promise<JobView> {
  const { app, context } = scope;
  const entry = await findBackup(context.storage, scope.params.id);
  return app.jobs.start(
    "verify",
    { by: scope.principal.name, target: entry.id, phase: "checking" },
    async (job) => {
      if (body.restoreTest) job.progress({ phase: "checking, then restore test" });
      const result = await verifyBackup(context, entry.id, { restoreTest: body.restoreTest });
      if (!result.ok) {
        throw new IntegrityError(
          `Backup "${entry.id}" failed verification: ${
            result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join("; ")
          }`,
        );
      }
      return result;
    },
  );
}

/** The plan of a restore; changes nothing. */
export async function restorePlan(
  scope: RequestScope,
  id: string,
  body: z.infer<typeof RestoreBody>,
): Promise<RestorePlan> {
  return await planRestore(scope.context, id, {
    clean: body.clean,
    checkData: true,
    dryRun: true,
    ignoreVersion: body.ignoreVersion,
  });
}

/**
 * Starts a restore into the configured database once `confirm` is that database's name: a
 * restore over HTTP is deliberate. It takes the same safety backup as the CLI's.
 */
export async function startRestore(
  scope: RequestScope,
  id: string,
  body: z.infer<typeof RestoreBody>,
): Promise<JobView> {
  const { app, context } = scope;
  const plan = await planRestore(context, id, {
    clean: body.clean,
    ignoreVersion: body.ignoreVersion,
  });
  const name = context.engine.databaseName(context.database);
  if (body.confirm !== name) {
    throw new ApiError(
      400,
      "confirmation_required",
      `Cannot restore backup "${plan.id}" into "${plan.target}": ${
        body.confirm === undefined ? "it needs" : "the confirmation does not match; it needs"
      } "confirm": "${name}" (the target database's name; nothing was changed)`,
      { expected: name },
    );
  }
  if (plan.needsClean) {
    throw new RefusedError(
      `Cannot restore backup "${plan.id}": "${plan.target}" is not empty (send "clean": true to replace the objects the backup contains)`,
    );
  }
  const held = await lock(scope, "restore");
  return app.jobs.start(
    "restore",
    { by: scope.principal.name, target: plan.id, phase: "restoring" },
    async (job) => {
      try {
        return await restoreBackup(context, plan.id, {
          force: true,
          clean: body.clean,
          ignoreVersion: body.ignoreVersion,
          signal: app.signal,
          onProgress: (bytes) => job.progress({ bytes }),
        });
      } finally {
        await held.release();
      }
    },
  );
}

/** Applies the retention policy to every store, or with `dryRun` says what it would do. */
export async function cleanupPlan(scope: RequestScope): Promise<StoreCleanupReport[]> {
  const { app, context } = scope;
  return await cleanupStores(context, app.retention, app.destinations, {
    timeZone: app.timeZone,
    dryRun: true,
  });
}

/** Starts a cleanup of every store under the lock. */
export async function startCleanup(
  scope: RequestScope,
  _body: z.infer<typeof CleanupBody>,
): Promise<JobView> {
  const { app, context } = scope;
  const held = await lock(scope, "cleanup", false);
  return app.jobs.start("cleanup", { by: scope.principal.name, phase: "deleting" }, async () => {
    try {
      return await cleanupStores(context, app.retention, app.destinations, {
        timeZone: app.timeZone,
      });
    } finally {
      await held.release();
    }
  });
}
