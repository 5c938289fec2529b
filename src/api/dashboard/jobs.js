// The jobs card: every job this page started or found running (another tab, another admin),
// polled until it ends, with a progress bar and figures while it runs and its outcome after. An
// ending is also a notice, and is passed to the `onJobFinished` listeners (the page reloads what
// the job changed). `startJob` is how every action that answers `202 {job}` starts.
import { api, ApiFailure, currentSession, isCurrent, signedIn } from "./api.js";
import { $, el } from "./dom.js";
import { describe, formatBytes, formatNumber } from "./format.js";
import { notify, report } from "./messages.js";

const POLL_MS = 500;
/** Polls that may fail in a row (a server restarting) before the page gives up on a job. */
const MAX_MISSES = 10;

const KIND_TEXT = {
  create: "Create backup",
  verify: "Verify",
  restore: "Restore",
  cleanup: "Cleanup",
};

const STATE_TEXT = { running: "running", succeeded: "✓ succeeded" };

/** Job id → the job's list item, poll timer, failed polls in a row, and whether it ended. */
const jobs = new Map();
const finishListeners = [];

/** Calls `listener` with each job that ends, after its notice. */
export function onJobFinished(listener) {
  finishListeners.push(listener);
}

/** Follows the running jobs of a /api/v1/jobs list (newest first), oldest at the bottom. */
export function followRunning(list) {
  const running = (Array.isArray(list) ? list : []).filter((job) => job.state === "running");
  for (const job of running.reverse()) trackJob(job);
}

/** Sends a request that starts a job (`202 {job}`) and follows the job; answers whether it did. */
export async function startJob(method, path, body, what) {
  try {
    const answer = await api(method, path, body);
    if (answer.job) trackJob(answer.job);
    else notify("success", `${what}: done`);
    return true;
  } catch (error) {
    report(error, `Cannot ${what.toLowerCase()}`);
    return false;
  }
}

/** Shows `job` and polls it until it ends. */
export function trackJob(job) {
  if (!job || typeof job.id !== "string") return;
  let entry = jobs.get(job.id);
  if (!entry) {
    entry = {
      item: el("li", { class: "job", "data-testid": "job" }),
      timer: undefined,
      misses: 0,
      finished: false,
    };
    jobs.set(job.id, entry);
    $("jobs").prepend(entry.item);
    $("jobs-empty").hidden = true;
  }
  renderJob(entry, job);
  if (job.state === "running") schedulePoll(job);
  else finishJob(job);
}

/** Stops every poll and empties the list (on sign-out). */
export function clearJobs() {
  for (const entry of jobs.values()) clearTimeout(entry.timer);
  jobs.clear();
  $("jobs").replaceChildren();
  $("jobs-empty").hidden = false;
}

function schedulePoll(job) {
  const entry = jobs.get(job.id);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.timer = setTimeout(async () => {
    if (!signedIn() || !jobs.has(job.id)) return;
    const session = currentSession();
    try {
      const body = await api("GET", job.url || `/api/v1/jobs/${encodeURIComponent(job.id)}`);
      if (!isCurrent(session)) return;
      entry.misses = 0;
      trackJob(body.job);
    } catch (error) {
      if (!isCurrent(session)) return;
      if (error instanceof ApiFailure && error.status === 401) return report(error);
      entry.misses++;
      if ((error instanceof ApiFailure && error.status === 404) || entry.misses >= MAX_MISSES) {
        renderJob(entry, { ...job, state: "failed", error: { message: error.message } });
        report(error, `Lost track of job ${job.id}`);
        return;
      }
      schedulePoll(job);
    }
  }, POLL_MS);
}

function finishJob(job) {
  const entry = jobs.get(job.id);
  if (!entry || entry.finished) return;
  entry.finished = true;
  clearTimeout(entry.timer);
  if (job.state === "succeeded") notify("success", resultText(job));
  else notify("error", `${KIND_TEXT[job.kind] ?? "Job"} failed: ${failureText(job, "no message")}`);
  for (const listener of finishListeners) listener(job);
}

function renderJob(entry, job) {
  const item = entry.item;
  item.dataset.jobId = job.id;
  item.dataset.kind = job.kind;
  item.dataset.state = job.state;
  item.className = `job job-${job.state}`;
  const children = [
    el(
      "div",
      { class: "job-head" },
      el("strong", { text: KIND_TEXT[job.kind] ?? String(job.kind) }),
      job.target ? [" ", el("code", { text: job.target })] : null,
      " ",
      el("span", {
        class: `state state-${job.state}`,
        "data-testid": "job-state",
        text: STATE_TEXT[job.state] ?? "✕ failed",
      }),
    ),
  ];
  if (job.state === "running") {
    children.push(
      el("progress", {
        class: "job-progress",
        "data-testid": "job-progress",
        "aria-label": "Running",
      }),
    );
  }
  const figures = progressFigures(job.progress);
  if (figures.length) {
    children.push(
      el(
        "dl",
        { class: "job-figures", "data-testid": "job-figures" },
        figures.map(([label, value]) =>
          el("div", {}, el("dt", { text: label }), el("dd", { text: value }))
        ),
      ),
    );
  }
  if (job.state !== "running") {
    const text = job.state === "succeeded"
      ? resultText(job)
      : failureText(job, "The job failed without a message");
    children.push(el("p", { class: "job-outcome", "data-testid": "job-outcome", text }));
  }
  item.replaceChildren(...children);
}

function progressFigures(progress) {
  const parts = [];
  if (!progress) return parts;
  if (progress.phase) parts.push(["Phase", progress.phase]);
  if (typeof progress.bytes === "number") parts.push(["Bytes", formatBytes(progress.bytes)]);
  if (typeof progress.rows === "number") parts.push(["Rows", formatNumber(progress.rows)]);
  if (typeof progress.tables === "number") parts.push(["Tables", formatNumber(progress.tables)]);
  if (progress.table) parts.push(["Table", progress.table]);
  return parts;
}

/** What a failed job says went wrong, or `none` when it says nothing. */
function failureText(job, none) {
  return describe(job.error) || none;
}

/** The sentence a succeeded job ends with, per kind. */
function resultText(job) {
  const result = job.result;
  if (job.kind === "create") {
    const id = result && result.backup ? result.backup.id : job.target;
    const errors = result && Array.isArray(result.copyErrors) ? result.copyErrors : [];
    return `Backup ${id ?? ""} created${errors.length ? `, but: ${errors.join("; ")}` : ""}`;
  }
  if (job.kind === "verify") return `Backup ${job.target ?? ""} passed verification`;
  if (job.kind === "restore") {
    const target = result && result.target ? ` into ${result.target}` : "";
    const safety = result && result.safetyBackup ? ` (safety backup ${result.safetyBackup})` : "";
    return `Backup ${job.target ?? ""} restored${target}${safety}`;
  }
  if (job.kind === "cleanup") {
    const reports = Array.isArray(result) ? result : result ? [result] : [];
    const deleted = reports.reduce(
      (sum, r) =>
        sum +
        (Array.isArray(r.decisions) ? r.decisions.filter((d) => d.action === "delete").length : 0),
      0,
    );
    const failures = reports.flatMap((r) => (Array.isArray(r.failures) ? r.failures : []));
    return `Cleanup finished: ${deleted} backup${deleted === 1 ? "" : "s"} deleted` +
      (failures.length ? `, ${failures.length} could not be deleted` : "");
  }
  return "Finished";
}
