/**
 * The request bodies of the API as zod schemas: the same objects validate requests and describe
 * them in the OpenAPI document, so the document cannot drift from what the server accepts.
 */
import { z } from "npm:zod@4.6.7";

const description = z.string({ error: "expected text" }).max(1000, {
  error: "must be at most 1000 characters",
});
const type = z.enum(["full", "schema"], { error: 'expected "full" or "schema"' });
const flag = z.boolean({ error: "expected true or false" });
const backupId = z.string({ error: "expected a backup id" }).min(1, {
  error: "expected a backup id",
}).max(200, { error: "expected a backup id" });
const confirm = z.string({ error: "expected the target database's name" }).max(1000);
const reason = z.string({ error: "expected text" }).max(1000, {
  error: "must be at most 1000 characters",
});

/** `POST /api/v1/backups`. */
export const CreateBody = z.strictObject({
  type: type.default("full"),
  description: description.optional(),
  pin: z.strictObject({ reason: reason.optional() }, { error: "expected {reason?}" }).optional(),
}).meta({ id: "CreateBackup" });

/** `POST /api/v1/backups/{id}/verify`. */
export const VerifyBody = z.strictObject({
  restoreTest: flag.default(false),
}).meta({ id: "VerifyBackup" });

/** `POST /api/v1/backups/{id}/restore`. */
export const RestoreBody = z.strictObject({
  confirm: confirm.optional(),
  dryRun: flag.default(false),
  clean: flag.default(false),
  /** Load into a target older than the backup needs instead of refusing (`--ignore-version`). */
  ignoreVersion: flag.default(false),
}).meta({ id: "RestoreBackup" });

/** `POST /api/v1/backups/{id}/pin`. */
export const PinBody = z.strictObject({ reason: reason.optional() }).meta({ id: "PinBackup" });

/** `POST /api/v1/cleanup`. */
export const CleanupBody = z.strictObject({ dryRun: flag.default(false) }).meta({
  id: "Cleanup",
});

/** `POST /api/backup` (the source document's API), one schema per action. */
export const LegacyBodies = {
  create: z.strictObject({
    action: z.literal("create"),
    type: type.default("full"),
    description: description.optional(),
  }).meta({ id: "LegacyCreate" }),
  restore: z.strictObject({
    action: z.literal("restore"),
    backupId,
    confirm: confirm.optional(),
    dryRun: flag.default(false),
    clean: flag.default(false),
    ignoreVersion: flag.default(false),
  }).meta({ id: "LegacyRestore" }),
  cleanup: z.strictObject({
    action: z.literal("cleanup"),
    dryRun: flag.default(false),
  }).meta({ id: "LegacyCleanup" }),
} as const;

/** The actions of `POST /api/backup`. */
export type LegacyAction = keyof typeof LegacyBodies;
