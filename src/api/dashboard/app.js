// The dashboard: plain browser JavaScript, no build step. It talks to the JSON API of
// docs/api.md with the token from the sign-in form, kept in this tab's sessionStorage only.
// Everything from the API reaches the page as text (textContent), never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "backup-manager.token";
  const POLL_MS = 500;
  const REFRESH_MS = 60_000;

  const $ = (id) => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`The page has no element "${id}"`);
    return found;
  };

  /** An element with attributes (`class`, `data-*`, …) and children (nodes or text). */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // ---- formatting -------------------------------------------------------------------------

  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

  function formatBytes(bytes) {
    if (typeof bytes !== "number" || !Number.isFinite(bytes)) return "—";
    let value = Math.abs(bytes);
    let unit = 0;
    while (value >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit++;
    }
    const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
    return `${bytes < 0 ? "-" : ""}${value.toFixed(digits)} ${UNITS[unit]}`;
  }

  function formatDuration(ms) {
    if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const seconds = ms / 1000;
    if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function formatNumber(value) {
    return typeof value === "number" && Number.isFinite(value) ? value.toLocaleString("en") : "—";
  }

  const pad = (n) => String(n).padStart(2, "0");

  /** A date in the browser's zone, `2026-11-23 10:15:00`. */
  function formatDate(value) {
    if (value === null || value === undefined || value === "") return "—";
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function timeElement(value) {
    if (!value) return "—";
    return el("time", { datetime: value, title: value, text: formatDate(value) });
  }

  /** Text for a value of unknown shape: strings as they are, lists joined, objects as JSON. */
  function describe(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.map(describe).filter(Boolean).join("; ");
    if (typeof value === "object") {
      if (typeof value.message === "string") return value.message;
      return JSON.stringify(value);
    }
    return String(value);
  }

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

  // ---- the API ----------------------------------------------------------------------------

  /** A failed API call: the HTTP status and the API's `error` (`code`, `message`). */
  class ApiFailure extends Error {
    constructor(status, error) {
      super(error.message);
      this.name = "ApiFailure";
      this.status = status;
      this.code = error.code;
      this.details = error;
    }
  }

  const state = {
    token: null,
    /** Counts sign-ins and sign-outs: an answer from an earlier session is dropped. */
    session: 0,
    role: null,
    backups: [],
    status: null,
    chart: null,
    chartNarrow: false,
    /** Job id → the job's list item and poll timer. */
    jobs: new Map(),
    refreshTimer: undefined,
    cleanupPlan: null,
    restoreId: null,
  };

  /** Calls the API with the token; answers the JSON body or throws an {@linkcode ApiFailure}. */
  async function api(method, path, body, token = state.token) {
    const headers = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiFailure(0, {
        code: "network",
        message: `Cannot reach the server (${error.message || error}); check that it is running`,
      });
    }
    let json = null;
    if ((response.headers.get("content-type") ?? "").includes("application/json")) {
      try {
        json = await response.json();
      } catch {
        json = null;
      }
    }
    if (!response.ok || (json && json.success === false)) {
      const error = json && json.error && typeof json.error === "object" ? json.error : {
        code: `http_${response.status}`,
        message: `The server answered ${response.status} ${response.statusText}`.trim(),
      };
      if (typeof error.message !== "string" || error.message === "") {
        error.message = `The server answered ${response.status} (${error.code ?? "no message"})`;
      }
      throw new ApiFailure(response.status, error);
    }
    if (json === null) {
      throw new ApiFailure(response.status, {
        code: "not_json",
        message: `The server's answer to ${method} ${path} is not JSON`,
      });
    }
    return json;
  }

  /** Shows an API failure; a refused token ends the session. */
  function report(error, context) {
    if (error instanceof ApiFailure && error.status === 401 && state.token) {
      signOut();
      showSignInMessage(`Signed out: ${error.message}`);
      return;
    }
    const text = error instanceof ApiFailure
      ? error.status === 403 ? `Not allowed: ${error.message}` : error.message
      : `Unexpected error: ${error && error.message ? error.message : error}`;
    notify("error", context ? `${context}: ${text}` : text);
  }

  // ---- messages ---------------------------------------------------------------------------

  const MAX_MESSAGES = 4;
  /** Successes also stay in the jobs list, so their message goes after a while; errors stay. */
  const SUCCESS_MS = 15_000;

  function notify(kind, text) {
    const box = $("messages");
    const label = kind === "error" ? "Error" : kind === "success" ? "Done" : "Note";
    const dismiss = el("button", { type: "button", class: "dismiss", text: "Dismiss" });
    const item = el(
      "p",
      { class: `message message-${kind}`, "data-kind": kind },
      el("strong", { text: `${label}: ` }),
      el("span", { class: "message-text", text }),
      " ",
      dismiss,
    );
    dismiss.addEventListener("click", () => item.remove());
    if (kind !== "error") setTimeout(() => item.remove(), SUCCESS_MS);
    box.prepend(item);
    while (box.children.length > MAX_MESSAGES) box.lastElementChild.remove();
  }

  function showSignInMessage(text) {
    const box = $("signin-message");
    box.textContent = text;
    box.hidden = !text;
  }

  // ---- signing in and out -----------------------------------------------------------------

  async function signIn(token) {
    showSignInMessage("");
    $("sign-in").disabled = true;
    let body;
    try {
      body = await api("GET", "/api/v1/status", undefined, token);
    } catch (error) {
      // a refused token is forgotten; a server that does not answer may come back
      if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) {
        sessionStorage.removeItem(TOKEN_KEY);
      }
      showSignInMessage(
        !(error instanceof ApiFailure)
          ? `Cannot sign in: ${error.message}`
          : error.status === 401
          ? `Wrong token (401): ${error.message}`
          : error.message,
      );
      $("token").focus();
      return;
    } finally {
      $("sign-in").disabled = false;
    }
    state.session++;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    $("signin-view").hidden = true;
    $("app-view").hidden = false;
    $("session").hidden = false;
    $("whoami").textContent = "Signed in";
    renderStatus(body.status);
    try {
      await Promise.all([learnRole(), refreshBackups(), resumeJobs()]);
    } catch (error) {
      report(error);
    }
    scheduleRefresh();
  }

  /**
   * Learns the role without changing anything: a cleanup preview is an admin endpoint that only
   * reads. A viewer's 403 says so; the buttons stay for everyone and answer with the API's
   * message.
   */
  async function learnRole() {
    const session = state.session;
    let role;
    try {
      await api("POST", "/api/v1/cleanup", { dryRun: true });
      role = "admin";
    } catch (error) {
      if (!(error instanceof ApiFailure) || error.status === 401) throw error;
      role = error.status === 403 ? "viewer" : null;
    }
    if (session !== state.session) return;
    state.role = role;
    const whoami = $("whoami");
    whoami.textContent = state.role === "admin"
      ? "Signed in as admin"
      : state.role === "viewer"
      ? "Signed in as viewer (read only: actions need an admin token)"
      : "Signed in";
    document.body.dataset.role = state.role ?? "unknown";
  }

  function signOut() {
    state.session++;
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.role = null;
    state.backups = [];
    state.status = null;
    state.cleanupPlan = null;
    clearTimeout(state.refreshTimer);
    for (const job of state.jobs.values()) clearTimeout(job.timer);
    state.jobs.clear();
    if (state.chart) {
      state.chart.destroy();
      state.chart = null;
    }
    const dialog = $("restore-dialog");
    if (dialog.open) dialog.close();
    $("jobs").replaceChildren();
    $("jobs-empty").hidden = false;
    $("backups").replaceChildren();
    $("reasons").replaceChildren();
    $("figures").replaceChildren();
    $("messages").replaceChildren();
    $("cleanup-plan").hidden = true;
    $("app-view").hidden = true;
    $("session").hidden = true;
    $("signin-view").hidden = false;
    delete document.body.dataset.role;
    $("token").focus();
  }

  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(async () => {
      if (!state.token) return;
      if (document.visibilityState === "visible") await refreshAll();
      scheduleRefresh();
    }, REFRESH_MS);
  }

  /** The status, the backups, and any job started elsewhere (another tab, another admin). */
  async function refreshAll() {
    await Promise.all([refreshStatus(), refreshBackups(), resumeJobs()]);
  }

  // ---- status -----------------------------------------------------------------------------

  async function refreshStatus() {
    const session = state.session;
    try {
      const body = await api("GET", "/api/v1/status");
      if (session === state.session) renderStatus(body.status);
    } catch (error) {
      if (session !== state.session) return;
      report(error, "Cannot read the status");
    }
  }

  const VERDICTS = {
    healthy: { symbol: "✓", text: "Healthy" },
    warning: { symbol: "!", text: "Warning" },
    critical: { symbol: "✕", text: "Critical" },
  };

  function renderStatus(status) {
    if (!status || typeof status !== "object") return;
    state.status = status;
    const level = String(status.systemHealth ?? "unknown");
    const verdict = VERDICTS[level] ?? { symbol: "?", text: `Unknown (${level})` };
    const health = $("health");
    health.className = `verdict verdict-${level}`;
    health.dataset.level = level;
    health.replaceChildren(
      el("span", { class: "verdict-symbol", "aria-hidden": "true", text: verdict.symbol }),
      el("span", { text: `System health: ${verdict.text}` }),
    );

    const reasons = Array.isArray(status.reasons) ? status.reasons : [];
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
    $("figures").replaceChildren(
      ...figures.map(([label, value]) =>
        el("div", { class: "figure" }, el("dt", { text: label }), el("dd", {}, value))
      ),
    );
  }

  // ---- backups ----------------------------------------------------------------------------

  async function refreshBackups() {
    const session = state.session;
    try {
      const body = await api("GET", "/api/v1/backups?limit=100");
      if (session !== state.session) return; // signed out meanwhile
      state.backups = Array.isArray(body.backups) ? body.backups : [];
      renderBackups();
      renderChart();
    } catch (error) {
      if (session !== state.session) return;
      report(error, "Cannot list the backups");
    }
  }

  const STATES = {
    ok: "ok",
    verified: "✓ verified",
    damaged: "✕ damaged",
  };

  function verificationText(verification) {
    if (!verification) return "never";
    const outcome = verification.outcome === "passed" ? "passed" : String(verification.outcome);
    const test = verification.restoreTest ? ", restore test" : "";
    return [`${outcome}${test} `, timeElement(verification.verifiedAt)];
  }

  function renderBackups() {
    const rows = state.backups.map((backup) => {
      const restoreTest = el("input", { type: "checkbox", "data-testid": "restore-test" });
      const verify = el("button", { type: "button", "data-testid": "verify", text: "Verify" });
      const restore = el("button", {
        type: "button",
        class: "danger",
        "data-testid": "restore",
        text: "Restore",
      });
      verify.addEventListener("click", () => startVerify(backup.id, restoreTest.checked));
      restore.addEventListener("click", () => openRestore(backup.id));
      // one box per cell: on a phone the cell is a label/value grid of two items
      const cell = (label, ...content) =>
        el("td", { "data-label": label }, el("div", { class: "cell" }, ...content));
      const stateText = STATES[backup.state] ?? String(backup.state ?? "unknown");
      return el(
        "tr",
        { "data-backup-id": backup.id, "data-state": backup.state },
        cell(
          "ID",
          el("code", { class: "id", text: backup.id }),
          backup.description
            ? el("span", { class: "description", text: backup.description })
            : null,
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
        cell(
          "Pinned",
          backup.pinned ? `yes${backup.pinReason ? `: ${backup.pinReason}` : ""}` : "no",
        ),
        cell("Verified", verificationText(backup.verification)),
        cell(
          "Actions",
          el(
            "div",
            { class: "row-actions" },
            el("label", { class: "check" }, restoreTest, " restore test"),
            verify,
            restore,
          ),
        ),
      );
    });
    $("backups").replaceChildren(
      ...(rows.length
        ? rows
        : [el("tr", { class: "empty" }, el("td", { colspan: 9, text: "No backups yet." }))]),
    );
    const count = state.backups.length;
    $("backups-summary").textContent = count === 0
      ? "The store holds no backup yet: create one above."
      : `${count} backup${count === 1 ? "" : "s"}, newest first${
        count >= 100 ? " (the newest 100)" : ""
      }.`;
  }

  // ---- the chart --------------------------------------------------------------------------

  function chartWidth() {
    return Math.max(200, Math.floor($("chart").clientWidth || 300));
  }

  function chartHeight() {
    return globalThis.innerWidth < 600 ? 220 : 280;
  }

  /** Pads a zero-width range (one backup, or all sizes equal) so uPlot can draw it. */
  function padRange(min, max, spread) {
    if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) {
      return [0, spread];
    }
    if (min === max) return [min - spread, max + spread];
    return [min, max];
  }

  function renderChart() {
    const container = $("chart");
    if (state.chart) {
      state.chart.destroy();
      state.chart = null;
    }
    container.replaceChildren();
    const points = state.backups
      .filter((b) => !Number.isNaN(Date.parse(b.createdAt)))
      .slice()
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    $("chart-empty").hidden = points.length > 0;
    container.hidden = points.length === 0;
    if (points.length === 0) return;
    if (typeof globalThis.uPlot !== "function") {
      $("chart-empty").hidden = false;
      $("chart-empty").textContent = "The chart library did not load (/assets/uplot.js).";
      return;
    }
    const data = [
      points.map((b) => Date.parse(b.createdAt) / 1000),
      points.map((b) => (typeof b.size === "number" ? b.size : null)),
      points.map((b) => (typeof b.durationMs === "number" ? b.durationMs / 1000 : null)),
    ];
    const narrow = globalThis.innerWidth < 600;
    state.chartNarrow = narrow;
    const options = {
      width: chartWidth(),
      height: chartHeight(),
      cursor: { drag: { x: false, y: false } },
      scales: {
        // from the data itself: for a single point uPlot would span 1000 days after it
        x: {
          time: true,
          range: (u) => padRange(u.data[0][0], u.data[0][u.data[0].length - 1], 3600),
        },
        bytes: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1024] },
        seconds: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      series: [
        { label: "Created", value: (_u, v) => (v === null ? "—" : formatDate(new Date(v * 1000))) },
        {
          label: "Size",
          scale: "bytes",
          stroke: "#2563eb",
          fill: "rgba(37, 99, 235, 0.08)",
          width: 2,
          points: { show: true, size: 7 },
          spanGaps: true,
          value: (_u, v) => formatBytes(v),
        },
        {
          label: "Duration",
          scale: "seconds",
          stroke: "#c2410c",
          width: 2,
          dash: [6, 4],
          points: { show: true, size: 7 },
          spanGaps: true,
          value: (_u, v) => (v === null ? "—" : formatDuration(v * 1000)),
        },
      ],
      axes: [
        {},
        {
          scale: "bytes",
          // on a phone the legend names the axes, and the plot keeps the room
          label: narrow ? undefined : "Size",
          size: narrow ? 62 : 70,
          values: (_u, splits) => splits.map((v) => formatBytes(v)),
        },
        {
          scale: "seconds",
          label: narrow ? undefined : "Duration",
          side: 1,
          size: narrow ? 54 : 60,
          grid: { show: false },
          values: (_u, splits) => splits.map((v) => formatDuration(v * 1000)),
        },
      ],
    };
    state.chart = new globalThis.uPlot(options, data, container);
  }

  let resizeFrame = 0;
  function resizeChart() {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(() => {
      if (!state.chart) return;
      // crossing the phone width changes the axes: draw again
      if ((globalThis.innerWidth < 600) !== state.chartNarrow) renderChart();
      else state.chart.setSize({ width: chartWidth(), height: chartHeight() });
    });
  }

  // ---- jobs -------------------------------------------------------------------------------

  const KIND_TEXT = {
    create: "Create backup",
    verify: "Verify",
    restore: "Restore",
    cleanup: "Cleanup",
  };

  async function resumeJobs() {
    const session = state.session;
    try {
      const body = await api("GET", "/api/v1/jobs");
      if (session !== state.session) return;
      const jobs = Array.isArray(body.jobs) ? body.jobs : [];
      for (const job of jobs.filter((j) => j.state === "running").reverse()) trackJob(job);
    } catch (error) {
      if (session !== state.session) return;
      report(error, "Cannot list the jobs");
    }
  }

  /** Shows `job` and polls it until it ends. */
  function trackJob(job) {
    if (!job || typeof job.id !== "string") return;
    let entry = state.jobs.get(job.id);
    if (!entry) {
      entry = {
        item: el("li", { class: "job", "data-testid": "job" }),
        timer: undefined,
        misses: 0,
      };
      state.jobs.set(job.id, entry);
      $("jobs").prepend(entry.item);
      $("jobs-empty").hidden = true;
    }
    renderJob(entry, job);
    if (job.state === "running") schedulePoll(job);
    else finishJob(job);
  }

  function schedulePoll(job) {
    const entry = state.jobs.get(job.id);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(async () => {
      if (!state.token || !state.jobs.has(job.id)) return;
      const session = state.session;
      try {
        const body = await api("GET", job.url || `/api/v1/jobs/${encodeURIComponent(job.id)}`);
        if (session !== state.session) return;
        entry.misses = 0;
        trackJob(body.job);
      } catch (error) {
        if (session !== state.session) return;
        if (error instanceof ApiFailure && error.status === 401) return report(error);
        entry.misses++;
        if ((error instanceof ApiFailure && error.status === 404) || entry.misses >= 10) {
          renderJob(entry, { ...job, state: "failed", error: { message: error.message } });
          report(error, `Lost track of job ${job.id}`);
          return;
        }
        schedulePoll(job);
      }
    }, POLL_MS);
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

  function renderJob(entry, job) {
    const item = entry.item;
    item.dataset.jobId = job.id;
    item.dataset.kind = job.kind;
    item.dataset.state = job.state;
    item.className = `job job-${job.state}`;
    const stateText = job.state === "running"
      ? "running"
      : job.state === "succeeded"
      ? "✓ succeeded"
      : "✕ failed";
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
          text: stateText,
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
        : describe(job.error) || "The job failed without a message";
      children.push(el("p", { class: "job-outcome", "data-testid": "job-outcome", text }));
    }
    item.replaceChildren(...children);
  }

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
          (Array.isArray(r.decisions)
            ? r.decisions.filter((d) => d.action === "delete").length
            : 0),
        0,
      );
      const failures = reports.flatMap((r) => (Array.isArray(r.failures) ? r.failures : []));
      return `Cleanup finished: ${deleted} backup${deleted === 1 ? "" : "s"} deleted` +
        (failures.length ? `, ${failures.length} could not be deleted` : "");
    }
    return "Finished";
  }

  function finishJob(job) {
    const entry = state.jobs.get(job.id);
    if (!entry || entry.finished) return;
    entry.finished = true;
    clearTimeout(entry.timer);
    if (job.state === "succeeded") notify("success", resultText(job));
    else {notify(
        "error",
        `${KIND_TEXT[job.kind] ?? "Job"} failed: ${describe(job.error) || "no message"}`,
      );}
    if (job.kind === "cleanup") hideCleanupPlan();
    refreshAll();
  }

  /** Sends a request that starts a job (`202 {job}`) and follows the job. */
  async function startJob(method, path, body, what) {
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

  // ---- create and verify ------------------------------------------------------------------

  async function createBackup(event) {
    event.preventDefault();
    const button = $("create-button");
    button.disabled = true;
    try {
      const description = $("create-description").value.trim();
      const body = { type: $("create-type").value };
      if (description) body.description = description;
      if (await startJob("POST", "/api/v1/backups", body, "Create a backup")) {
        $("create-description").value = "";
      }
    } finally {
      button.disabled = false;
    }
  }

  function startVerify(id, restoreTest) {
    return startJob(
      "POST",
      `/api/v1/backups/${encodeURIComponent(id)}/verify`,
      { restoreTest },
      `Verify backup ${id}`,
    );
  }

  // ---- cleanup ----------------------------------------------------------------------------

  async function previewCleanup() {
    const button = $("cleanup-preview");
    button.disabled = true;
    try {
      const body = await api("POST", "/api/v1/cleanup", { dryRun: true });
      const stores = Array.isArray(body.stores) && body.stores.length ? body.stores : [body.plan];
      state.cleanupPlan = stores.filter(Boolean);
      renderCleanupPlan(state.cleanupPlan);
      $("cleanup-plan").hidden = false;
      $("cleanup-plan").scrollIntoView({ block: "nearest" });
    } catch (error) {
      report(error, "Cannot preview the cleanup");
    } finally {
      button.disabled = false;
    }
  }

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
    const blocks = stores.map((plan) => {
      const decisions = Array.isArray(plan.decisions) ? plan.decisions : [];
      const deletes = decisions.filter((d) => d.action === "delete").length;
      const block = el("div", { class: "plan-store" });
      if (stores.length > 1 || plan.store) {
        block.append(
          el("p", {}, el("strong", { text: "Store: " }), el("code", { text: plan.store ?? "" })),
        );
      }
      const policy = policyText(plan.policy);
      block.append(el("p", {
        class: "muted",
        text: `Policy: ${policy || "none set (nothing is deleted)"}. ${
          decisions.length - deletes
        } kept, ${deletes} deleted.`,
      }));
      if (plan.hold) {
        block.append(
          el(
            "p",
            { class: "hold", "data-testid": "cleanup-hold" },
            el("strong", { text: "Hold: " }),
            describe(plan.hold),
          ),
        );
      }
      if (decisions.length) {
        block.append(el(
          "ul",
          { class: "decisions" },
          decisions.map((d) =>
            el(
              "li",
              {
                class: `decision decision-${d.action}`,
                "data-testid": "decision",
                "data-backup-id": d.id,
                "data-action": d.action,
              },
              el("span", { class: `badge action-${d.action}`, text: String(d.action ?? "?") }),
              " ",
              el("code", { text: String(d.id ?? "") }),
              d.pinned ? el("span", { class: "pinned", text: " pinned" }) : null,
              typeof d.size === "number"
                ? el("span", { class: "muted", text: ` ${formatBytes(d.size)}` })
                : null,
              el("span", { class: "decision-reasons", text: describe(d.reasons ?? d.reason) }),
            )
          ),
        ));
      } else {
        block.append(el("p", { text: "No backups to decide on." }));
      }
      const incomplete = Array.isArray(plan.incomplete) ? plan.incomplete : [];
      if (incomplete.length) {
        block.append(el(
          "ul",
          { class: "decisions" },
          incomplete.map((f) =>
            el(
              "li",
              { class: `decision decision-${f.action}` },
              el("span", { class: `badge action-${f.action}`, text: String(f.action ?? "?") }),
              " ",
              el("code", { text: String(f.key ?? "") }),
              el("span", { class: "decision-reasons", text: describe(f.reason ?? f.reasons) }),
            )
          ),
        ));
      }
      const failures = Array.isArray(plan.failures) ? plan.failures : [];
      for (const failure of failures) {
        block.append(
          el("p", { class: "alert", text: `${failure.key}: ${describe(failure.error)}` }),
        );
      }
      return block;
    });
    $("cleanup-plan-body").replaceChildren(...blocks);
  }

  function hideCleanupPlan() {
    state.cleanupPlan = null;
    $("cleanup-plan").hidden = true;
    $("cleanup-plan-body").replaceChildren();
  }

  async function applyCleanup() {
    const button = $("cleanup-apply");
    button.disabled = true;
    try {
      await startJob("POST", "/api/v1/cleanup", {}, "Apply the cleanup");
    } finally {
      button.disabled = false;
    }
  }

  // ---- restore ----------------------------------------------------------------------------

  function showRestoreMessage(text) {
    const box = $("restore-message");
    box.textContent = text;
    box.hidden = !text;
  }

  async function openRestore(id) {
    state.restoreId = id;
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
      const body = await api("POST", `/api/v1/backups/${encodeURIComponent(id)}/restore`, {
        dryRun: true,
      });
      if (state.restoreId !== id) return;
      renderRestorePlan(body.plan ?? {});
      $("restore-submit").disabled = false;
      $("restore-confirm").focus();
    } catch (error) {
      if (state.restoreId !== id) return;
      $("restore-plan").replaceChildren();
      showRestoreMessage(error.message);
      if (error instanceof ApiFailure && error.status === 401) report(error);
    }
  }

  function renderRestorePlan(plan) {
    const name = databaseNameOf(plan.target);
    $("restore-expected").textContent = name || "(the target database's name)";
    const facts = el(
      "dl",
      { class: "facts" },
      el(
        "div",
        { class: "figure" },
        el("dt", { text: "Target" }),
        el("dd", {}, el("code", { text: plan.target ?? "?" })),
      ),
      el(
        "div",
        { class: "figure" },
        el("dt", { text: "Effect" }),
        el("dd", {
          text: plan.replaces
            ? "replaces the current contents (a safety backup is taken first)"
            : plan.targetExists === false
            ? "creates the database"
            : "fills the empty database",
        }),
      ),
    );
    if (plan.migration && (plan.migration.backup || plan.migration.current)) {
      facts.append(el(
        "div",
        { class: "figure" },
        el("dt", { text: "Migration" }),
        el("dd", {
          text: `backup ${plan.migration.backup ?? "none"}, now ${
            plan.migration.current ?? "none"
          }`,
        }),
      ));
    }
    const children = [facts];
    if (plan.needsClean) {
      $("restore-clean-label").hidden = false;
      children.push(el("p", {
        class: "hold",
        text: "The target is not empty: tick “clean” to replace the objects the backup contains.",
      }));
    }
    const tables = Array.isArray(plan.tables) ? plan.tables : [];
    if (tables.length) {
      children.push(el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "plan-tables", "data-testid": "restore-tables" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { scope: "col", text: "Table" }),
              el("th", { scope: "col", text: "Rows in backup" }),
              el("th", { scope: "col", text: "Rows now" }),
            ),
          ),
          el(
            "tbody",
            {},
            tables.map((t) =>
              el(
                "tr",
                {},
                el("td", { text: t.name }),
                el("td", { text: formatNumber(t.backupRows) }),
                el("td", { text: formatNumber(t.currentRows) }),
              )
            ),
          ),
        ),
      ));
    }
    $("restore-plan").replaceChildren(...children);
  }

  async function submitRestore(event) {
    event.preventDefault();
    const id = state.restoreId;
    if (!id) return;
    const button = $("restore-submit");
    button.disabled = true;
    showRestoreMessage("");
    try {
      // nothing typed is no confirmation at all (the server then says what it needs)
      const typed = $("restore-confirm").value;
      const body = typed === "" ? {} : { confirm: typed };
      if ($("restore-clean").checked) body.clean = true;
      const answer = await api("POST", `/api/v1/backups/${encodeURIComponent(id)}/restore`, body);
      $("restore-dialog").close();
      state.restoreId = null;
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
    } finally {
      button.disabled = false;
    }
  }

  function closeRestore() {
    state.restoreId = null;
    const dialog = $("restore-dialog");
    if (dialog.open) dialog.close();
  }

  // ---- start ------------------------------------------------------------------------------

  function start() {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim();
      if (!token) return showSignInMessage("Enter a token");
      signIn(token);
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
    $("restore-dialog").addEventListener("close", () => {
      state.restoreId = null;
    });
    globalThis.addEventListener("resize", resizeChart);
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
    else $("token").focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
