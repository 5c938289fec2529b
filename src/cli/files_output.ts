/**
 * How `restore` shows the files kept beside the database: the dry run's list of what would be
 * written and replaced, the confirmation's wording, and the result's line.
 */
import type { RestorePlan, RestoreResult } from "../core/restore.ts";
import type { FilesPlan } from "../core/files/restore_plan.ts";
import { renderTable } from "./format.ts";

/** The dry run's files section: where they go, then one row per entry and what happens to it. */
export function filesDryRun(files: FilesPlan | undefined): string {
  if (!files) return "";
  const head = `  files: ${files.entries} entries into ${files.root}` +
    (files.replaced.length
      ? `, ${files.replaced.length} existing replaced (after a safety backup)`
      : "") +
    "\n";
  if (!files.actions) {
    return head + "  (the files are encrypted: give --identity to list them)\n";
  }
  const rows = files.actions.map((a) => [a.action, a.kind, a.name]);
  return head + "\n" + renderTable(["action", "kind", "name"], rows) +
    files.warnings.map((w) => `  warning: ${w}\n`).join("");
}

/** What the restore replaces, for the prompt and the refusal: the database, the files, or both. */
export function replacing(plan: RestorePlan, filesOnly: boolean): string {
  const count = plan.files?.replaced.length ?? 0;
  const files = count ? `${count} existing file(s) under "${plan.files!.root}"` : "";
  if (filesOnly) return files;
  return plan.replaces && files ? `"${plan.target}" and ${files}` : files || `"${plan.target}"`;
}

/** The result's line about the files, or nothing. */
export function filesResultLine(result: RestoreResult): string {
  const files = result.files;
  if (!files) return "";
  return `  files: ${files.written} written (${files.replaced} replaced), ${files.directories} directories, under ${files.root}\n`;
}

/** A note when the database went elsewhere (`--to`) and the backup's files were left alone. */
export function filesLeftNote(plan: RestorePlan, to: string | undefined, mode: unknown): string {
  const holds = plan.meta.parts?.some((p) => p.kind === "files");
  if (!holds || to === undefined || mode !== undefined) return "";
  return `Note: the backup's files were not restored (--to names another database); restore them with --files [--to DIR]\n`;
}
