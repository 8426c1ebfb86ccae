// Safety dashboard (staff): how fast flags are acknowledged, what raises them, what is
// open now, help requests and check-in completion by cohort. One read of
// GET /api/reports/safety (audited); charts by uPlot; counts only, no text or names.
import uPlot from "/vendor/uPlot.esm.js";
import { h, replace, statusLine, field, option } from "./dom.js";
import { describeError } from "./errors.js";
import { request } from "./api.js";
import { categoryLabel } from "./util.js";
import {
  SEVERITY_ORDER,
  ackSeries,
  categoryTotals,
  dayOf,
  formatDuration,
  formatMinutes,
  formatShare,
  hasAckData,
  sourceSeries,
  stackSeries,
  sum,
  tickWeeks,
  weekLabel,
} from "./safetydata.js";

const PERIODS = [4, 8, 12, 26, 52];
const DEFAULT_WEEKS = 12;
const CHART_HEIGHT = 240;
// One colour per source, kept across loads (sourceSeries keeps the order); AA on white.
const SOURCE_COLOR = {
  detector: "#2c6a64",
  model: "#6a4c93",
  report: "#a0521b",
  counselor: "#1a5fb4",
  help_button: "#9b2c2c",
  checkin: "#4d7c0f",
  silence: "#5b6470",
};
const SEVERITY_LABEL = { high: "High", medium: "Medium", low: "Low" };

let charts = []; // uPlot instances of the view on screen, destroyed when it is drawn again
let weeks = DEFAULT_WEEKS;

/** The view's stylesheets, added once (no inline styles: the CSP allows only files). */
function ensureStylesheet(href) {
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href }));
}

export async function renderSafety(container) {
  ensureStylesheet("/vendor/uPlot.min.css");
  ensureStylesheet("/static/safety.css");
  destroyCharts();
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Safety dashboard");
  const period = h("select", { dataset: { testid: "safety-weeks" } },
    PERIODS.map((n) => option(String(n), `Last ${n} weeks`, n === weeks)));
  const intro = h("p", { class: "muted" },
    "How fast flags are acknowledged and what raises them. Weeks run Monday to Sunday in UTC; the last one is this week so far. Counts only: no message text or names.");
  const msg = statusLine("safety-status");
  const body = h("div", { class: "safety-body", dataset: { testid: "safety-body" } });
  const head = h("div", { class: "safety-head" }, heading, field("Period", period).wrap);
  replace(container, h("section", { class: "view safety-view", dataset: { testid: "safety-view" } }, head, intro, msg.el, body));
  heading.focus();
  period.addEventListener("change", () => {
    weeks = Number(period.value) || DEFAULT_WEEKS;
    load(body, msg);
  });
  await load(body, msg);
}

async function load(body, msg) {
  msg.set("Loading…");
  body.setAttribute("aria-busy", "true");
  try {
    const report = await request("GET", "/api/reports/safety", { query: { weeks } });
    destroyCharts();
    body.replaceChildren(
      summaryTiles(report),
      h("div", { class: "safety-grid" },
        chartCard("safety-ack-chart", "Time to acknowledge, by week",
          "Median (p50) and 90th percentile of the time from a flag to its first acknowledgement, for the flags raised that week. A gap is a week with none acknowledged.",
          (el) => ackChart(el, report), hasAckData(report) ? null : "No flag in this period has been acknowledged yet."),
        chartCard("safety-source-chart", "Flags by source, per week",
          "How many flags each source raised, stacked, by the week they were raised.",
          (el) => sourceChart(el, report), sum(report.flags?.total) ? null : "No flags in this period.")),
      h("div", { class: "safety-grid" }, severityTable(report), helpTable(report)),
      h("div", { class: "safety-grid" }, checkinTable(report), categoryTable(report)),
    );
    msg.set("");
  } catch (err) {
    msg.set(describeError(err), "error");
  } finally {
    body.removeAttribute("aria-busy");
  }
}

function destroyCharts() {
  for (const chart of charts) chart.destroy();
  charts = [];
}

// ---- tiles -----------------------------------------------------------------------

function tile(testid, label, value, kind) {
  return h("div", { class: ["safety-tile", kind && `tile-${kind}`], dataset: { testid } },
    h("span", { class: "tile-value" }, String(value)), h("span", { class: "tile-label" }, label));
}

function summaryTiles(report) {
  const open = report.now?.open || {};
  const escalated = report.now?.escalated || {};
  const help = report.help_requests || {};
  const all = report.ack?.by_severity?.high || {};
  return h("div", { class: "safety-tiles", dataset: { testid: "safety-tiles" } },
    tile("tile-open-high", "High flags open now", open.high ?? 0, (open.high ?? 0) > 0 ? "alert" : null),
    tile("tile-escalated", "Escalated, not acknowledged", sum(Object.values(escalated)), sum(Object.values(escalated)) > 0 ? "alert" : null),
    tile("tile-help-open", "Help requests waiting", help.open ?? 0, (help.open ?? 0) > 0 ? "alert" : null),
    tile("tile-high-p90", "High flags: 90% acknowledged within", formatDuration(all.p90_seconds)));
}

// ---- charts ----------------------------------------------------------------------

function chartCard(testid, title, description, draw, empty) {
  const titleId = `${testid}-title`;
  const plot = h("div", { class: "chart", role: "img", "aria-labelledby": titleId, dataset: { testid: `${testid}-plot` } });
  const card = h("figure", { class: "chart-card", dataset: { testid } },
    h("figcaption", null, h("h3", { id: titleId }, title), h("p", { class: "muted small" }, description)),
    empty ? h("p", { class: "chart-empty muted", dataset: { testid: `${testid}-empty` } }, empty) : plot);
  if (!empty) queueMicrotask(() => draw(plot));
  return card;
}

function chartWidth(el) {
  return Math.max(280, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 480));
}

function weekAxis(xs) {
  return {
    splits: () => tickWeeks(xs, 6),
    values: (u, splits) => splits.map((ts) => weekLabel(dayOf(ts))),
    grid: { show: false },
  };
}

function baseOptions(el, xs) {
  return {
    width: chartWidth(el),
    height: CHART_HEIGHT,
    scales: { x: { time: false, range: () => [xs[0] - 3.5 * 86400, xs[xs.length - 1] + 3.5 * 86400] } },
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
}

function firstSeries() {
  return { label: "Week of", value: (u, ts) => (ts === null || ts === undefined ? "—" : weekLabel(dayOf(ts))) };
}

function mount(el, options, data) {
  const chart = new uPlot(options, data, el);
  charts.push(chart);
  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(() => {
      if (!el.isConnected) {
        observer.disconnect();
        return;
      }
      const width = chartWidth(el);
      if (width !== chart.width) chart.setSize({ width, height: CHART_HEIGHT });
    });
    observer.observe(el);
  }
}

function ackChart(el, report) {
  const data = ackSeries(report);
  const options = baseOptions(el, data[0]);
  options.series = [
    firstSeries(),
    { label: "p50 (median)", stroke: "#2c6a64", width: 2, points: { show: true, size: 6 }, value: (u, v) => formatMinutes(v) },
    { label: "p90", stroke: "#9b2c2c", width: 2, dash: [6, 4], points: { show: true, size: 6 }, value: (u, v) => formatMinutes(v) },
  ];
  options.scales.y = { range: (u, min, max) => [0, Math.max(1, max * 1.1)] };
  options.axes = [weekAxis(data[0]), { label: "minutes", size: 60, values: (u, splits) => splits.map((v) => String(Math.round(v * 10) / 10)) }];
  mount(el, options, data);
}

function sourceChart(el, report) {
  const { keys, labels, data } = sourceSeries(report);
  const raw = data.slice(1);
  const stacked = stackSeries(raw);
  const options = baseOptions(el, data[0]);
  const bars = uPlot.paths.bars({ size: [0.6, 36] });
  options.series = [
    firstSeries(),
    ...stacked.order.map((k) => ({
      label: labels[k],
      stroke: SOURCE_COLOR[keys[k]] || "#1f2a2e",
      fill: SOURCE_COLOR[keys[k]] || "#1f2a2e",
      width: 0,
      paths: bars,
      points: { show: false },
      value: (u, v, si, i) => (i === null || i === undefined ? "—" : String(raw[k][i])),
    })),
  ];
  options.scales.y = { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] };
  options.axes = [weekAxis(data[0]), { label: "flags", size: 50, values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) }];
  mount(el, options, [data[0], ...stacked.data]);
}

// ---- tables ----------------------------------------------------------------------

function table(testid, caption, columns, rows) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "data-table", dataset: { testid } },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", null, h("tr", null, columns.map(([label, numeric]) => h("th", { scope: "col", class: numeric ? "num" : null }, label)))),
      h("tbody", null, rows)));
}

function card(title, ...children) {
  return h("section", { class: "safety-card" }, h("h3", null, title), ...children);
}

function severityTable(report) {
  const rows = SEVERITY_ORDER.map((severity) => {
    const ack = report.ack?.by_severity?.[severity] || {};
    const open = report.now?.open?.[severity] ?? 0;
    const escalated = report.now?.escalated?.[severity] ?? 0;
    return h("tr", { dataset: { testid: "severity-row", severity } },
      h("th", { scope: "row" }, h("span", { class: `badge sev-${severity}` }, SEVERITY_LABEL[severity])),
      h("td", { class: ["num", open > 0 && severity === "high" && "alarm"], dataset: { testid: "open-count" } }, String(open)),
      h("td", { class: ["num", escalated > 0 && "alarm"], dataset: { testid: "escalated-count" } }, String(escalated)),
      h("td", { class: "num" }, String(ack.acknowledged ?? 0)),
      h("td", { class: "num" }, String(ack.waiting ?? 0)),
      h("td", { class: "num" }, formatDuration(ack.p50_seconds)),
      h("td", { class: "num" }, formatDuration(ack.p90_seconds)));
  });
  return card("Flags by severity",
    h("p", { class: "muted small" }, "Open and escalated: now, whatever their age. Acknowledged, waiting and times: flags raised in this period."),
    table("safety-severity-table", "Open and escalated flags now, and acknowledgement times in the period, by severity",
      [["Severity"], ["Open now", true], ["Escalated now", true], ["Acknowledged", true], ["Waiting", true], ["p50", true], ["p90", true]], rows));
}

function helpTable(report) {
  const help = report.help_requests || {};
  const rows = [
    ["In this period", sum(help.by_week), "help-period"],
    ["Waiting for a counselor now", help.open ?? 0, "help-open"],
    ["With a counselor now (not resolved)", help.acknowledged ?? 0, "help-acknowledged"],
  ].map(([label, value, testid]) =>
    h("tr", { dataset: { testid } }, h("th", { scope: "row" }, label), h("td", { class: "num" }, String(value))));
  const weeksRow = (help.by_week || []).map((n, i) => `${weekLabel(report.week_starts[i])}: ${n}`).filter((_, i, all) => i >= all.length - 4);
  return card("Help requests",
    table("safety-help-table", "Help requests", [["", false], ["Requests", true]], rows),
    h("p", { class: "muted small" }, `Last weeks: ${weeksRow.join(" · ") || "—"}`));
}

function checkinTable(report) {
  const section = report.checkins || {};
  const cohorts = section.cohorts || [];
  const rows = cohorts.map((c) =>
    h("tr", { class: c.active ? null : "inactive", dataset: { testid: "checkin-row", cohortId: c.cohort_id } },
      h("th", { scope: "row" }, c.cohort_name, c.active ? null : h("span", { class: "badge badge-quiet" }, "inactive")),
      h("td", { class: "num" }, String(c.patients)),
      h("td", { class: "num" }, `${c.days_with_checkin} of ${c.patient_days}`),
      h("td", { class: "num completion" },
        c.completion === null ? null : h("meter", { min: "0", max: "1", value: String(c.completion), "aria-hidden": "true" }),
        h("span", { dataset: { testid: "completion" } }, formatShare(c.completion)))));
  const empty = cohorts.length ? null : h("p", { class: "muted" }, "No cohorts yet.");
  return card("Check-in completion by cohort",
    h("p", { class: "muted small" }, `Share of patient-days with a check-in, ${section.start_day || "…"} to ${section.end_day || "…"} (within each cohort's dates).`),
    empty || table("safety-checkin-table", "Check-in completion by cohort", [["Cohort"], ["Patients", true], ["Patient-days with a check-in", true], ["Completion", true]], rows));
}

function categoryTable(report) {
  const totals = categoryTotals(report);
  const rows = totals.map(([category, total]) =>
    h("tr", { dataset: { testid: "category-row", category } },
      h("th", { scope: "row" }, category === "none" ? "No category" : categoryLabel(category)),
      h("td", { class: "num" }, String(total))));
  return card("Flags by category",
    h("p", { class: "muted small" }, "Flags raised in this period; a flag with two categories counts under each."),
    totals.length ? table("safety-category-table", "Flags by category in the period", [["Category"], ["Flags", true]], rows)
      : h("p", { class: "muted" }, "No flags in this period."));
}
