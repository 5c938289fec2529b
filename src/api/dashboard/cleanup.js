// The cleanup plan: a preview (a dry run: what the retention policy would keep and delete, and
// why, per store) that changes nothing, and the button that applies it as a job. The plan closes
// when that job ends (app.js) or when dismissed.
import { api } from "./api.js";
import { $, el, whileBusy } from "./dom.js";
import { describe, formatBytes } from "./format.js";
import { startJob } from "./jobs.js";
import { report } from "./messages.js";

/** Asks for the plan and shows it under the button. */
export async function previewCleanup() {
  await whileBusy("cleanup-preview", async () => {
    try {
      const body = await api("POST", "/api/v1/cleanup", { dryRun: true });
      const stores = Array.isArray(body.stores) && body.stores.length ? body.stores : [body.plan];
      renderCleanupPlan(stores.filter(Boolean));
      $("cleanup-plan").hidden = false;
      $("cleanup-plan").scrollIntoView({ block: "nearest" });
    } catch (error) {
      report(error, "Cannot preview the cleanup");
    }
  });
}

/** Runs the cleanup for real, as a job. */
export async function applyCleanup() {
  await whileBusy(
    "cleanup-apply",
    () => startJob("POST", "/api/v1/cleanup", {}, "Apply the cleanup"),
  );
}

/** Closes the plan and forgets it. */
export function hideCleanupPlan() {
  $("cleanup-plan").hidden = true;
  $("cleanup-plan-body").replaceChildren();
}

/** `{keepLast: 2, keepDaily: 7}` → `keepLast 2, keepDaily 7`; nested objects as `name: …`. */
function policyText(policy) {
  if (!policy || typeof policy !== "object") return "";
  const parts = [];
  for (const [name, value] of Object.entries(policy)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "object") {
      const inner = policyText(value);
      if (inner) parts.push(`${name}: ${inner}`);
    } else parts.push(`${name} ${value}`);
  }
  return parts.join(", ");
}

function renderCleanupPlan(stores) {
  $("cleanup-plan-body").replaceChildren(
    ...stores.map((plan) => storePlan(plan, stores.length > 1 || Boolean(plan.store))),
  );
}

/** One store's plan: its policy and counts, a hold, the decisions, and what could not be read. */
function storePlan(plan, named) {
  const decisions = Array.isArray(plan.decisions) ? plan.decisions : [];
  const incomplete = Array.isArray(plan.incomplete) ? plan.incomplete : [];
  const scratch = Array.isArray(plan.scratch) ? plan.scratch : [];
  const failures = Array.isArray(plan.failures) ? plan.failures : [];
  const deletes = decisions.filter((d) => d.action === "delete").length;
  const policy = policyText(plan.policy);
  return el(
    "div",
    { class: "plan-store" },
    named
      ? el("p", {}, el("strong", { text: "Store: " }), el("code", { text: plan.store ?? "" }))
      : null,
    el("p", {
      class: "muted",
      text: `Policy: ${policy || "none set (nothing is deleted)"}. ${
        decisions.length - deletes
      } kept, ${deletes} deleted.`,
    }),
    plan.hold
      ? el(
        "p",
        { class: "hold", "data-testid": "cleanup-hold" },
        el("strong", { text: "Hold: " }),
        describe(plan.hold),
      )
      : null,
    decisions.length
      ? el("ul", { class: "decisions" }, decisions.map(backupDecision))
      : el("p", { text: "No backups to decide on." }),
    incomplete.length ? el("ul", { class: "decisions" }, incomplete.map(leftoverDecision)) : null,
    scratch.length ? el("ul", { class: "decisions" }, scratch.map(scratchDecision)) : null,
    failures.map((failure) =>
      el("p", { class: "alert", text: `${failure.key}: ${describe(failure.error)}` })
    ),
  );
}

/** A line of the plan: the action as a badge, what it acts on, details, then the reasons. */
function decisionLine(attributes, action, name, details, reasons) {
  return el(
    "li",
    { class: `decision decision-${action}`, ...attributes },
    el("span", { class: `badge action-${action}`, text: String(action ?? "?") }),
    " ",
    el("code", { text: String(name ?? "") }),
    details,
    el("span", { class: "decision-reasons", text: describe(reasons) }),
  );
}

/** What the policy does with a backup (the test reads its id and action from the data). */
function backupDecision(d) {
  return decisionLine(
    { "data-testid": "decision", "data-backup-id": d.id, "data-action": d.action },
    d.action,
    d.id,
    [
      d.pinned ? el("span", { class: "pinned", text: " pinned" }) : null,
      typeof d.size === "number"
        ? el("span", { class: "muted", text: ` ${formatBytes(d.size)}` })
        : null,
    ],
    d.reasons ?? d.reason,
  );
}

/** What the cleanup does with a file an unfinished write left behind (named by its key). */
function leftoverDecision(f) {
  return decisionLine({}, f.action, f.key, null, f.reason ?? f.reasons);
}

/** What the cleanup does with an interrupted run's scratch beside the database or on its server. */
function scratchDecision(s) {
  return decisionLine(
    { "data-testid": "scratch-decision", "data-action": s.action },
    s.action,
    s.name,
    typeof s.size === "number"
      ? el("span", { class: "muted", text: ` ${s.kind ?? ""} ${formatBytes(s.size)}` })
      : null,
    s.reason,
  );
}
