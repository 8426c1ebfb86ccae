// Check-in charts drawn by uPlot (served from /vendor/). Its stylesheet and ours are added
// on first use, as <link>s (the Content-Security-Policy allows no inline styles), so the
// page shell needs no change. Each chart also gets a text summary for screen readers.
import uPlot from "/vendor/uPlot.esm.js";
import { MOOD_MAX, MOOD_MIN, CRAVING_MAX, moodWord } from "./trend.js";

const MOOD_COLOR = "#2c6a64"; // --accent
const CRAVING_COLOR = "#7a4b00"; // --medium
const STYLESHEETS = ["/vendor/uPlot.min.css", "/static/checkin.css"];
let styled = false;

/** Add uPlot's and the check-in views' stylesheets to the page, once. */
export function useCheckinStyles() {
  if (styled) return;
  styled = true;
  for (const href of STYLESHEETS) {
    if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) continue; // e.g. the safety view's
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }
}

const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

function series(compact) {
  return [
    {},
    {
      label: "Mood",
      scale: "mood",
      stroke: MOOD_COLOR,
      width: compact ? 2 : 2.5,
      points: { show: true, size: compact ? 4 : 7, fill: MOOD_COLOR },
      value: (u, v) => (v == null ? "–" : `${moodWord(v)} (${v})`),
    },
    {
      label: "Craving",
      scale: "craving",
      stroke: CRAVING_COLOR,
      width: compact ? 1.5 : 2,
      dash: [6, 4],
      points: { show: true, size: compact ? 4 : 6, fill: CRAVING_COLOR },
      value: (u, v) => (v == null ? "–" : `${v} of 10`),
    },
  ];
}

const SCALES = {
  x: { time: true },
  mood: { range: [MOOD_MIN - 0.3, MOOD_MAX + 0.3] },
  craving: { range: [-0.6, CRAVING_MAX + 0.6] },
};

/** A narrow chart (a phone) drops the axis titles and shrinks the gutters, so the days keep the room. */
function axes(compact, narrow) {
  if (compact) return [{ show: false }, { scale: "mood", show: false }, { scale: "craving", show: false }];
  return [
    {
      values: (u, splits) => splits.map((s) => dayFmt.format(new Date(s * 1000))),
      space: narrow ? 50 : 60,
    },
    {
      scale: "mood",
      label: narrow ? null : "Mood",
      splits: () => [1, 2, 3, 4, 5],
      values: (u, splits) => splits.map((s) => moodWord(s)),
      size: narrow ? 74 : 78,
      stroke: MOOD_COLOR,
    },
    {
      scale: "craving",
      label: narrow ? null : "Craving",
      side: 1,
      splits: () => [0, 2, 4, 6, 8, 10],
      grid: { show: false },
      size: narrow ? 26 : 50,
      stroke: CRAVING_COLOR,
    },
  ];
}

const NARROW = 480;

/**
 * Draw mood (solid) and craving (dashed) over days into `container`.
 * data: [x (unix seconds), mood, craving] from chartData(). compact: a row's small chart.
 * Returns the uPlot instance (destroy() it when the view goes away).
 */
export function checkinChart(container, data, { compact = false, height, width, summary } = {}) {
  useCheckinStyles();
  container.replaceChildren();
  container.setAttribute("role", "img");
  if (summary) container.setAttribute("aria-label", summary);
  const w = width || Math.max(240, container.clientWidth || 600);
  const h = height || (compact ? 56 : 260);
  const plot = new uPlot(
    {
      width: w,
      height: h,
      scales: SCALES,
      series: series(compact),
      axes: axes(compact, w < NARROW),
      legend: { show: !compact, live: false },
      cursor: compact ? { show: false } : { points: { size: 8 } },
      padding: compact ? [4, 4, 4, 4] : [12, 8, 0, 4],
    },
    data,
    container,
  );
  if (!width && !compact && typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(() => {
      if (!container.isConnected) {
        observer.disconnect();
        return;
      }
      const next = Math.max(240, container.clientWidth);
      if (Math.abs(next - plot.width) > 4) plot.setSize({ width: next, height: h });
    });
    observer.observe(container);
  }
  return plot;
}
