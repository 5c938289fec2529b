import { type CommandDeps, locationFlags, settingsFor } from "./deps.ts";
import { ExitCode } from "../core/errors.ts";
import { readIdentityFile } from "../core/crypto/age.ts";
import { verifyPitrStore } from "../pitr/pitr_verify.ts";
import { pitrLocation } from "./pitr_store.ts";
import { renderJson } from "./format.ts";
import { progressReporter } from "./progress.ts";

/** What `verify --pitr` takes. */
export interface VerifyPitrArgs {
  format: "text" | "json";
  database?: string;
  dir?: string;
  identity?: string;
}

/**
 * `verify --pitr`: every snapshot, segment, base backup and WAL file of `<backupDir>/pitr/`
 * checked (`src/pitr/pitr_verify.ts`); one line of figures and one per failure; exit 5 on any.
 */
export async function runVerifyPitr(args: VerifyPitrArgs, deps: CommandDeps): Promise<number> {
  const config = settingsFor(deps, locationFlags(args));
  const { store, location } = pitrLocation(config, deps);
  const identityFile = config.encryption.identityFile;
  const identities = identityFile ? await readIdentityFile(identityFile) : [];
  const progress = progressReporter(deps.io, args.format === "text");
  const report = await verifyPitrStore(
    store,
    identities,
    progress.bytes ? (n) => progress.bytes!(n) : undefined,
  ).finally(progress.done);
  if (args.format === "json") deps.io.stdout(renderJson({ location, ...report }));
  else {
    deps.io.stdout(
      `${
        report.failures.length === 0 ? "PASS" : "FAIL"
      } ${location}: ${report.objects} objects checked` +
        (report.checksumOnly > 0
          ? ` (${report.checksumOnly} encrypted: only their stored bytes' SHA-256, give --identity to read them)`
          : "") +
        "\n" +
        report.failures.map((f) => `  FAIL ${f.what}: ${f.detail}\n`).join(""),
    );
  }
  return report.failures.length > 0 ? ExitCode.Integrity : ExitCode.Ok;
}
