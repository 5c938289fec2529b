// The dashboard's entry point (a module, loaded after uPlot's classic script). Plain browser
// JavaScript, no build step, talking to the JSON API of docs/api.md. This file only wires: the
// page's forms and buttons to the panels' modules, what a sign-in loads and a sign-out forgets,
// and the refresh cycle (status, backups and jobs; every minute while the tab is visible, and
// after each job). The panels hold everything else, one job per module.
import { api, currentSession, isCurrent, signedIn } from "./api.js";
import { BACKUPS_PATH, clearBackups, renderBackups } from "./backups_table.js";
import { clearChart, renderChart, resizeChart } from "./chart.js";
import { applyCleanup, hideCleanupPlan, previewCleanup } from "./cleanup.js";
import { createBackup } from "./create_form.js";
import { $ } from "./dom.js";
import { clearHealth, renderStatus } from "./health.js";
import { clearJobs, followRunning, onJobFinished } from "./jobs.js";
import { clearMessages, report } from "./messages.js";
import { closeRestore, submitRestore } from "./restore_dialog.js";
import {
  learnRole,
  savedToken,
  showSignInMessage,
  signIn,
  signOut,
  whenSignedOut,
} from "./session.js";

const REFRESH_MS = 60_000;

let refreshTimer;

/** GETs `path` and hands the body to `show`, unless the session ended meanwhile; reports. */
async function read(path, context, show) {
  const session = currentSession();
  try {
    const body = await api("GET", path);
    if (isCurrent(session)) show(body);
  } catch (error) {
    if (isCurrent(session)) report(error, context);
  }
}

function refreshStatus() {
  return read("/api/v1/status", "Cannot read the status", (body) => renderStatus(body.status));
}

function refreshBackups() {
  return read(BACKUPS_PATH, "Cannot list the backups", (body) => {
    const backups = Array.isArray(body.backups) ? body.backups : [];
    renderBackups(backups);
    renderChart(backups);
  });
}

/** Follows any job started elsewhere (another tab, another admin). */
function resumeJobs() {
  return read("/api/v1/jobs", "Cannot list the jobs", (body) => followRunning(body.jobs));
}

async function refreshAll() {
  await Promise.all([refreshStatus(), refreshBackups(), resumeJobs()]);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (!signedIn()) return;
    if (document.visibilityState === "visible") await refreshAll();
    scheduleRefresh();
  }, REFRESH_MS);
}

/** Signs in with `token`, then fills every panel and starts the refresh cycle. */
async function enter(token) {
  const body = await signIn(token);
  if (body === null) return;
  renderStatus(body.status);
  try {
    await Promise.all([learnRole(), refreshBackups(), resumeJobs()]);
  } catch (error) {
    report(error);
  }
  scheduleRefresh();
}

/** What a sign-out forgets: the refresh timer, every panel's contents, the notices. */
function forgetEverything() {
  clearTimeout(refreshTimer);
  clearJobs();
  clearChart();
  closeRestore();
  clearBackups();
  clearHealth();
  clearMessages();
  hideCleanupPlan();
}

function start() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return showSignInMessage("Enter a token");
    enter(token);
  });
  $("sign-out").addEventListener("click", () => {
    signOut();
    showSignInMessage("");
  });
  $("refresh").addEventListener("click", () => refreshAll());
  $("create-form").addEventListener("submit", createBackup);
  $("cleanup-preview").addEventListener("click", previewCleanup);
  $("cleanup-apply").addEventListener("click", applyCleanup);
  $("cleanup-dismiss").addEventListener("click", hideCleanupPlan);
  $("restore-form").addEventListener("submit", submitRestore);
  $("restore-cancel").addEventListener("click", closeRestore);
  $("restore-dialog").addEventListener("close", closeRestore);
  globalThis.addEventListener("resize", resizeChart);
  whenSignedOut(forgetEverything);
  onJobFinished((job) => {
    if (job.kind === "cleanup") hideCleanupPlan();
    refreshAll();
  });
  const saved = savedToken();
  if (saved) enter(saved);
  else $("token").focus();
}

// a module script runs once the document is parsed: every element is there
start();
