// The health card: the verdict of /api/v1/status (healthy, warning, critical), the reasons behind
// it, and the figures a person checks first (how many backups, how big, the last backup, the last
// verification, the last run, free space, whether the database answers).
import { $, el, figure } from "./dom.js";
import { describe, formatBytes, formatNumber, timeElement } from "./format.js";

const VERDICTS = {
  healthy: { symbol: "✓", text: "Healthy" },
  warning: { symbol: "!", text: "Warning" },
  critical: { symbol: "✕", text: "Critical" },
};

/** Shows `status` (the `status` of /api/v1/status); anything but an object changes nothing. */
export function renderStatus(status) {
  if (!status || typeof status !== "object") return;
  renderVerdict(String(status.systemHealth ?? "unknown"));
  renderReasons(Array.isArray(status.reasons) ? status.reasons : []);
  $("figures").replaceChildren(...figuresOf(status).map(([label, value]) => figure(label, value)));
}

function renderVerdict(level) {
  const verdict = VERDICTS[level] ?? { symbol: "?", text: `Unknown (${level})` };
  const health = $("health");
  health.className = `verdict verdict-${level}`;
  health.dataset.level = level;
  health.replaceChildren(
    el("span", { class: "verdict-symbol", "aria-hidden": "true", text: verdict.symbol }),
    el("span", { text: `System health: ${verdict.text}` }),
  );
}

function renderReasons(reasons) {
  $("reasons").replaceChildren(
    ...(reasons.length
      ? reasons.map((reason) =>
        el(
          "li",
          { class: `reason reason-${reason.level}`, "data-rule": reason.rule },
          el("span", { class: "badge", text: String(reason.level ?? "note") }),
          " ",
          el("span", { text: describe(reason.message ?? reason) }),
          reason.rule ? el("span", { class: "rule", text: ` (${reason.rule})` }) : null,
        )
      )
      : [el("li", { class: "reason reason-none", text: "No problems found." })]),
  );
}

/** The figures as `[label, content]` pairs, those the status has no value for left out. */
function figuresOf(status) {
  const lastBackup = status.lastBackupDate
    ? [
      timeElement(status.lastBackupDate),
      status.lastBackupType ? ` (${status.lastBackupType})` : "",
    ]
    : ["none yet"];
  const lastVerified = status.lastVerifiedAt || status.lastVerifiedBackupDate
    ? [
      timeElement(status.lastVerifiedAt ?? status.lastVerifiedBackupDate),
      status.lastVerifiedBackup ? ` (${status.lastVerifiedBackup})` : "",
    ]
    : ["never"];
  const figures = [
    ["Total backups", [
      formatNumber(status.totalBackups),
      typeof status.damagedBackups === "number" && status.damagedBackups > 0
        ? ` (${status.damagedBackups} damaged)`
        : "",
    ]],
    ["Total size", [formatBytes(status.totalSize)]],
    ["Last backup", lastBackup],
    ["Last verified", lastVerified],
  ];
  if (status.lastRunOutcome) {
    figures.push(["Last run", [
      status.lastRunOutcome === "ok" ? "succeeded" : `failed: ${status.lastRunError ?? ""}`,
      status.lastRunDate ? [" at ", timeElement(status.lastRunDate)] : "",
    ]]);
  }
  if (typeof status.freeBytes === "number") {
    figures.push(["Free space", [formatBytes(status.freeBytes)]]);
  }
  if (typeof status.databaseReachable === "boolean") {
    figures.push(["Database", [status.databaseReachable ? "reachable" : "not reachable"]]);
  }
  return figures;
}

/** Empties the reasons and figures (on sign-out); the verdict is redrawn at the next sign-in. */
export function clearHealth() {
  $("reasons").replaceChildren();
  $("figures").replaceChildren();
}
