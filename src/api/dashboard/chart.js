// The chart of size and duration over time, drawn by uPlot (a classic script loaded before the
// modules, global `uPlot`, served from its npm package: no CDN). It is drawn again when the
// backups change, resized with the window, and drawn again when the window crosses the phone
// width (the axes change there).
import { $ } from "./dom.js";
import { formatBytes, formatDate, formatDuration } from "./format.js";

/** Below this width the axes lose their labels and the chart gets shorter. */
const PHONE_PX = 600;

/** The uPlot instance, and the backups and width it was drawn for. */
let chart = null;
let drawnFor = [];
let drawnNarrow = false;

function isNarrow() {
  return globalThis.innerWidth < PHONE_PX;
}

function chartWidth() {
  return Math.max(200, Math.floor($("chart").clientWidth || 300));
}

function chartHeight() {
  return isNarrow() ? 220 : 280;
}

/** Pads a zero-width range (one backup, or all sizes equal) so uPlot can draw it. */
function padRange(min, max, spread) {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) {
    return [0, spread];
  }
  if (min === max) return [min - spread, max + spread];
  return [min, max];
}

/** Draws `backups` (any order; those without a valid `createdAt` are left out). */
export function renderChart(backups) {
  drawnFor = backups;
  const container = $("chart");
  destroyChart();
  container.replaceChildren();
  const points = backups
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
  drawnNarrow = isNarrow();
  chart = new globalThis.uPlot(chartOptions(drawnNarrow), data, container);
}

function chartOptions(narrow) {
  return {
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
}

let resizeFrame = 0;

/** Fits the chart to the window, once per frame however many resize events come. */
export function resizeChart() {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    if (!chart) return;
    // crossing the phone width changes the axes: draw again
    if (isNarrow() !== drawnNarrow) renderChart(drawnFor);
    else chart.setSize({ width: chartWidth(), height: chartHeight() });
  });
}

function destroyChart() {
  if (!chart) return;
  chart.destroy();
  chart = null;
}

/** Removes the chart and forgets its backups (on sign-out). */
export function clearChart() {
  destroyChart();
  drawnFor = [];
}
