// The safety report's numbers shaped for uPlot and for people: pure (no DOM), tested
// with `node --test tests/web/`. The report's object is SafetyReport in docs/protocol.md.

export const SOURCE_ORDER = ["detector", "model", "report", "counselor", "help_button", "checkin", "silence"];
export const SOURCE_LABEL = {
  detector: "Keyword detector",
  model: "Semantic model",
  report: "Peer report",
  counselor: "Counselor mark",
  help_button: "Help button",
  checkin: "Check-in",
  silence: "Silence",
};
export const SEVERITY_ORDER = ["high", "medium", "low"];

/** Week starts ("YYYY-MM-DD", Mondays, UTC) as unix seconds, uPlot's x values. */
export function weekTimestamps(weekStarts) {
  return (weekStarts || []).map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
}

const toMinutes = (seconds) => (seconds === null || seconds === undefined ? null : Math.round((seconds / 60) * 100) / 100);

/** [x, p50 minutes, p90 minutes]: a week nobody acknowledged anything in is null (a gap, not a zero). */
export function ackSeries(report) {
  const weeks = report.ack?.by_week || [];
  return [
    weekTimestamps(report.week_starts),
    weeks.map((w) => toMinutes(w.p50_seconds)),
    weeks.map((w) => toMinutes(w.p90_seconds)),
  ];
}

/** Whether the ack chart has anything to draw. */
export function hasAckData(report) {
  return (report.ack?.by_week || []).some((w) => w.acknowledged > 0);
}

/**
 * Flags per week for each source that raised any in the period, in a fixed order (so a
 * source keeps its colour from one load to the next): {labels, keys, data: [x, ...series]}.
 */
export function sourceSeries(report) {
  const bySource = report.flags?.by_source || {};
  const keys = [...SOURCE_ORDER, ...Object.keys(bySource).filter((k) => !SOURCE_ORDER.includes(k))].filter(
    (k) => sum(bySource[k]) > 0,
  );
  return {
    keys,
    labels: keys.map((k) => SOURCE_LABEL[k] || k),
    data: [weekTimestamps(report.week_starts), ...keys.map((k) => bySource[k].slice())],
  };
}

/** Categories with their total over the period, most first ("none" last). */
export function categoryTotals(report) {
  return Object.entries(report.flags?.by_category || {})
    .map(([category, weeks]) => [category, sum(weeks)])
    .filter(([, total]) => total > 0)
    .sort((a, b) => (a[0] === "none") - (b[0] === "none") || b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function sum(values) {
  return (values || []).reduce((total, v) => total + (Number(v) || 0), 0);
}

/** "—" for no value; "45 s", "2 min 5 s", "1 h 10 min", "2 d 3 h": exact enough to act on. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  if (s < 86400) {
    const minutes = Math.floor((s % 3600) / 60);
    return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${Math.floor(s / 3600)} h`;
  }
  const hours = Math.floor((s % 86400) / 3600);
  return hours ? `${Math.floor(s / 86400)} d ${hours} h` : `${Math.floor(s / 86400)} d`;
}

/** Minutes on the chart's axis and in its legend, as a duration. */
export function formatMinutes(minutes) {
  return minutes === null || minutes === undefined ? "—" : formatDuration(minutes * 60);
}

/** A share 0..1 as a whole percentage; "—" when there is nothing to share. */
export function formatShare(share) {
  if (share === null || share === undefined) return "—";
  return `${Math.round(Number(share) * 100)}%`;
}

/** "Dec 7" for a week start, in UTC (the report's weeks are UTC weeks). */
export function weekLabel(day) {
  const date = new Date(`${day}T00:00:00Z`);
  return date.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
}

/** uPlot x value (unix seconds) back to its "YYYY-MM-DD" week start. */
export function dayOf(ts) {
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

/** At most `maxTicks` of the weeks for the x axis, evenly spaced, the latest always among them. */
export function tickWeeks(xs, maxTicks) {
  const step = Math.max(1, Math.ceil(xs.length / Math.max(1, maxTicks)));
  return xs.filter((_, i) => (xs.length - 1 - i) % step === 0);
}

/**
 * Stacked bars for uPlot, which draws series in order and has no stacking of its own:
 * running totals, top of the stack first, so that each later (lower) bar is drawn over
 * the one above it. Returns {order, data}: `order[k]` is the index into `series` of the
 * k-th drawn series (its legend shows that series' own count, not the running total).
 */
export function stackSeries(series) {
  const totals = [];
  let running = null;
  for (const values of series) {
    running = values.map((v, i) => (Number(v) || 0) + (running ? running[i] : 0));
    totals.push(running);
  }
  const order = series.map((_, k) => series.length - 1 - k);
  return { order, data: order.map((k) => totals[k]) };
}
