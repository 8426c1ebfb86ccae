// The safety dashboard's numbers, shaped for uPlot and for people: pure helpers.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ackSeries,
  categoryTotals,
  dayOf,
  formatDuration,
  formatShare,
  hasAckData,
  sourceSeries,
  stackSeries,
  tickWeeks,
  weekLabel,
  weekTimestamps,
} from "../../static/js/safetydata.js";

const report = {
  week_starts: ["2026-11-23", "2026-11-30", "2026-12-07"],
  ack: {
    by_week: [
      { acknowledged: 5, waiting: 0, p50_seconds: 90, p90_seconds: 600 },
      { acknowledged: 0, waiting: 2, p50_seconds: null, p90_seconds: null },
      { acknowledged: 1, waiting: 1, p50_seconds: 45, p90_seconds: 45 },
    ],
  },
  flags: {
    by_source: { detector: [5, 0, 1], model: [0, 0, 0], help_button: [0, 0, 1], silence: [0, 1, 0], report: [0, 0, 0] },
    by_category: { suicide: [5, 0, 1], none: [0, 1, 1], relapse: [0, 3, 0], overdose: [0, 0, 0] },
  },
};

test("weeks become uPlot's x values: unix seconds of Monday 00:00 UTC", () => {
  assert.deepEqual(weekTimestamps(["2026-12-07"]), [Date.UTC(2026, 11, 7) / 1000]);
  assert.deepEqual(weekTimestamps(undefined), []);
});

test("ack times are drawn in minutes and a week without acknowledgements is a gap, not a zero", () => {
  const [x, p50, p90] = ackSeries(report);
  assert.equal(x.length, 3);
  assert.deepEqual(p50, [1.5, null, 0.75]);
  assert.deepEqual(p90, [10, null, 0.75]);
  assert.equal(hasAckData(report), true);
  assert.equal(hasAckData({ ack: { by_week: [{ acknowledged: 0 }] } }), false);
});

test("only sources that raised flags are drawn, always in the same order", () => {
  const { keys, labels, data } = sourceSeries(report);
  assert.deepEqual(keys, ["detector", "help_button", "silence"]);
  assert.deepEqual(labels, ["Keyword detector", "Help button", "Silence"]);
  assert.deepEqual(data.slice(1), [[5, 0, 1], [0, 0, 1], [0, 1, 0]]);
  assert.equal(data.length, 1 + keys.length);
});

test("categories are totalled over the period, most first, uncategorised last, empty ones left out", () => {
  assert.deepEqual(categoryTotals(report), [["suicide", 6], ["relapse", 3], ["none", 2]]);
});

test("durations read as a person would say them", () => {
  assert.equal(formatDuration(null), "—");
  assert.equal(formatDuration(45), "45 s");
  assert.equal(formatDuration(90), "1 min 30 s");
  assert.equal(formatDuration(600), "10 min");
  assert.equal(formatDuration(3 * 3600 + 5 * 60), "3 h 5 min");
  assert.equal(formatDuration(2 * 86400 + 3600), "2 d 1 h");
});

test("shares are whole percentages, and nothing to share is a dash", () => {
  assert.equal(formatShare(0.6667), "67%");
  assert.equal(formatShare(1), "100%");
  assert.equal(formatShare(null), "—");
});

test("a week is labelled by its Monday in UTC, whatever the browser's zone", () => {
  assert.equal(weekLabel("2026-12-07"), "Dec 7");
});

test("the x axis labels at most a few weeks, always including this one", () => {
  const xs = weekTimestamps(["2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14"]);
  assert.deepEqual(tickWeeks(xs, 10), xs);
  assert.deepEqual(tickWeeks(xs, 3).map(dayOf), ["2026-11-16", "2026-11-30", "2026-12-14"]);
  assert.deepEqual(tickWeeks(xs, 2).map(dayOf), ["2026-11-23", "2026-12-14"]);
  assert.equal(dayOf(xs[3]), "2026-12-07");
});

test("stacked bars are running totals, the top of the stack drawn first", () => {
  const { order, data } = stackSeries([[1, 0, 2], [0, 3, 1], [4, 0, 0]]);
  assert.deepEqual(order, [2, 1, 0]);
  assert.deepEqual(data, [[5, 3, 3], [1, 3, 3], [1, 0, 2]]);
  assert.deepEqual(stackSeries([]), { order: [], data: [] });
});
