// The restore dialog: it reads the restore's plan first (a dry run: the target, the effect, the
// tables and their row counts), then asks for the target database's name as confirmation. The
// server decides: a missing or wrong name is refused with the name it needs, shown in the dialog;
// a restore that starts closes the dialog and shows as a job.
import { api, ApiFailure, backupPath } from "./api.js";
import { $, el, figure, showAlert, whileBusy } from "./dom.js";
import { formatNumber } from "./format.js";
import { trackJob } from "./jobs.js";
import { notify, report } from "./messages.js";

/** The backup the dialog is about, or null: an answer for another backup is dropped. */
let restoreId = null;

/** The name a restore's `confirm` must carry: a file's base name, or a URL's database. */
function databaseNameOf(target) {
  if (typeof target !== "string" || target === "") return "";
  if (/^postgres(ql)?:\/\//i.test(target)) {
    try {
      return decodeURIComponent(new URL(target).pathname.replace(/^\//, ""));
    } catch {
      // not a URL after all: fall through to the path rule
    }
  }
  const parts = target.split(/[\\/]/);
  return parts[parts.length - 1];
}

function showRestoreMessage(text) {
  showAlert("restore-message", text);
}

/** Opens the dialog for backup `id` and reads its plan. */
export async function openRestore(id) {
  restoreId = id;
  const dialog = $("restore-dialog");
  $("restore-id").textContent = id;
  $("restore-expected").textContent = "";
  $("restore-confirm").value = "";
  $("restore-clean").checked = false;
  $("restore-clean-label").hidden = true;
  showRestoreMessage("");
  $("restore-plan").replaceChildren(el("p", { class: "muted", text: "Reading the plan…" }));
  $("restore-submit").disabled = true;
  if (!dialog.open) dialog.showModal();
  try {
    const body = await api("POST", backupPath(id, "restore"), { dryRun: true });
    if (restoreId !== id) return;
    renderRestorePlan(body.plan ?? {});
    $("restore-submit").disabled = false;
    $("restore-confirm").focus();
  } catch (error) {
    if (restoreId !== id) return;
    $("restore-plan").replaceChildren();
    showRestoreMessage(error.message);
    if (error instanceof ApiFailure && error.status === 401) report(error);
  }
}

function effectText(plan) {
  if (plan.replaces) return "replaces the current contents (a safety backup is taken first)";
  return plan.targetExists === false ? "creates the database" : "fills the empty database";
}

function renderRestorePlan(plan) {
  const name = databaseNameOf(plan.target);
  $("restore-expected").textContent = name || "(the target database's name)";
  const migration = plan.migration;
  const facts = el(
    "dl",
    { class: "facts" },
    figure("Target", el("code", { text: plan.target ?? "?" })),
    figure("Effect", effectText(plan)),
    migration && (migration.backup || migration.current)
      ? figure(
        "Migration",
        `backup ${migration.backup ?? "none"}, now ${migration.current ?? "none"}`,
      )
      : null,
  );
  const children = [facts];
  if (plan.needsClean) {
    $("restore-clean-label").hidden = false;
    children.push(el("p", {
      class: "hold",
      text: "The target is not empty: tick “clean” to replace the objects the backup contains.",
    }));
  }
  const tables = Array.isArray(plan.tables) ? plan.tables : [];
  if (tables.length) children.push(tableCounts(tables));
  $("restore-plan").replaceChildren(...children);
}

/** The plan's tables with their rows in the backup and in the target now. */
function tableCounts(tables) {
  const row = (tag, attributes, cells) =>
    el("tr", {}, cells.map((text) => el(tag, { ...attributes, text })));
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "plan-tables", "data-testid": "restore-tables" },
      el("thead", {}, row("th", { scope: "col" }, ["Table", "Rows in backup", "Rows now"])),
      el(
        "tbody",
        {},
        tables.map((t) =>
          row("td", {}, [t.name, formatNumber(t.backupRows), formatNumber(t.currentRows)])
        ),
      ),
    ),
  );
}

/** Sends the restore with what the person typed; the server checks the confirmation. */
export async function submitRestore(event) {
  event.preventDefault();
  const id = restoreId;
  if (!id) return;
  await whileBusy("restore-submit", async () => {
    showRestoreMessage("");
    try {
      // nothing typed is no confirmation at all (the server then says what it needs)
      const typed = $("restore-confirm").value;
      const body = typed === "" ? {} : { confirm: typed };
      if ($("restore-clean").checked) body.clean = true;
      const answer = await api("POST", backupPath(id, "restore"), body);
      $("restore-dialog").close();
      restoreId = null;
      if (answer.job) trackJob(answer.job);
    } catch (error) {
      const refused = error instanceof ApiFailure && error.code === "confirmation_required";
      if (refused && typeof error.details.expected === "string") {
        $("restore-expected").textContent = error.details.expected;
      }
      const text = refused ? `Refused: ${error.message}` : error.message;
      showRestoreMessage(text);
      notify("error", text);
      if (error instanceof ApiFailure && error.status === 401) report(error);
    }
  });
}

/** Closes the dialog (if open) and forgets its backup; also the dialog's own `close` handler. */
export function closeRestore() {
  restoreId = null;
  const dialog = $("restore-dialog");
  if (dialog.open) dialog.close();
}
