// The backups table: one row per backup (id, type, date, state, size, duration, pin, last
// verification) with the buttons that verify it or open its restore dialog. On a phone each row
// becomes a card of label/value lines (backups_table.css), so every cell carries its label.
import { backupPath } from "./api.js";
import { $, el } from "./dom.js";
import { formatBytes, formatDuration, formatNumber, timeElement } from "./format.js";
import { startJob } from "./jobs.js";
import { openRestore } from "./restore_dialog.js";

/** The API lists this many backups at most; the summary says when the table shows that many. */
const LIMIT = 100;

const STATES = {
  ok: "ok",
  verified: "✓ verified",
  damaged: "✕ damaged",
};

/** The path that lists the backups the table shows. */
export const BACKUPS_PATH = `/api/v1/backups?limit=${LIMIT}`;

/** Shows `backups` (newest first, as the API lists them) and a line that counts them. */
export function renderBackups(backups) {
  $("backups").replaceChildren(
    ...(backups.length
      ? backups.map(backupRow)
      : [el("tr", { class: "empty" }, el("td", { colspan: 9, text: "No backups yet." }))]),
  );
  const count = backups.length;
  $("backups-summary").textContent = count === 0
    ? "The store holds no backup yet: create one above."
    : `${count} backup${count === 1 ? "" : "s"}, newest first${
      count >= LIMIT ? ` (the newest ${LIMIT})` : ""
    }.`;
}

/** Empties the table (on sign-out). */
export function clearBackups() {
  $("backups").replaceChildren();
}

/** One box per cell: on a phone the cell is a label/value grid of two items. */
function cell(label, ...content) {
  return el("td", { "data-label": label }, el("div", { class: "cell" }, ...content));
}

function backupRow(backup) {
  const stateText = STATES[backup.state] ?? String(backup.state ?? "unknown");
  return el(
    "tr",
    { "data-backup-id": backup.id, "data-state": backup.state },
    cell(
      "ID",
      el("code", { class: "id", text: backup.id }),
      backup.description ? el("span", { class: "description", text: backup.description }) : null,
    ),
    cell("Type", backup.type),
    cell("Created", timeElement(backup.createdAt)),
    cell(
      "State",
      el("span", { class: `state state-${backup.state}`, text: stateText }),
      backup.problem ? el("span", { class: "problem", text: backup.problem }) : null,
    ),
    cell(
      "Size",
      el("span", {
        class: "nowrap",
        title: `${formatNumber(backup.size)} bytes`,
        text: formatBytes(backup.size),
      }),
    ),
    cell("Duration", el("span", { class: "nowrap", text: formatDuration(backup.durationMs) })),
    cell("Pinned", backup.pinned ? `yes${backup.pinReason ? `: ${backup.pinReason}` : ""}` : "no"),
    cell("Verified", verificationText(backup.verification)),
    cell("Actions", rowActions(backup.id)),
  );
}

function verificationText(verification) {
  if (!verification) return "never";
  const outcome = verification.outcome === "passed" ? "passed" : String(verification.outcome);
  const test = verification.restoreTest ? ", restore test" : "";
  return [`${outcome}${test} `, timeElement(verification.verifiedAt)];
}

function verifyBackup(id, restoreTest) {
  return startJob("POST", backupPath(id, "verify"), { restoreTest }, `Verify backup ${id}`);
}

/** Verify (with a restore test when ticked) and restore, for the backup `id`. */
function rowActions(id) {
  const restoreTest = el("input", { type: "checkbox", "data-testid": "restore-test" });
  const verify = el("button", { type: "button", "data-testid": "verify", text: "Verify" });
  const restore = el("button", {
    type: "button",
    class: "danger",
    "data-testid": "restore",
    text: "Restore",
  });
  verify.addEventListener("click", () => verifyBackup(id, restoreTest.checked));
  restore.addEventListener("click", () => openRestore(id));
  return el(
    "div",
    { class: "row-actions" },
    el("label", { class: "check" }, restoreTest, " restore test"),
    verify,
    restore,
  );
}
