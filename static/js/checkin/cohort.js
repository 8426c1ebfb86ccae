// Counselors' and staff's view of a cohort's check-ins: one row per patient with a small
// trend chart, who has not checked in today, and who trends down (TREND_RULE, trend.js).
// Every load is a read of health information and is audited by the server.
import { h, replace, statusLine, option, formatTime, pluralize } from "../dom.js";
import { describeError } from "../errors.js";
import { request } from "../api.js";
import { session } from "../session.js";
import { displayName } from "../util.js";
import { checkinChart, useCheckinStyles } from "./chart.js";
import { TREND_RULE, chartData, cravingWord, dayWindow, moodTrend, moodWord } from "./trend.js";

const DAYS = 14;

function lastCheckinCell(last, today) {
  if (!last) return h("td", { dataset: { testid: "checkin-last" } }, h("span", { class: "muted" }, "No check-ins yet"));
  const when = `${last.day === today ? "Today, " : ""}${formatTime(last.submitted_at)}`;
  return h("td", { dataset: { testid: "checkin-last" } },
    h("div", null, "Mood: ", h("strong", null, moodWord(last.mood)), ` · Craving: ${last.craving} (${cravingWord(last.craving)})`),
    h("div", { class: "muted small" }, when),
    last.note ? h("div", { class: "checkin-note small", dataset: { testid: "checkin-note-text" } }, `“${last.note}”`) : null);
}

function row(entry, days, today, plots) {
  const checkins = entry.checkins || [];
  const last = checkins[checkins.length - 1] || null;
  const trend = moodTrend(checkins);
  const chart = h("div", { class: "checkin-spark", dataset: { testid: "checkin-spark" } });
  const todayBadge = entry.checked_in_today
    ? h("span", { class: "badge checkin-done", dataset: { testid: "checkin-today" } }, "Checked in")
    : h("span", { class: "badge checkin-missing", dataset: { testid: "checkin-today" } }, "Not yet today");
  const flagged = last && Array.isArray(last.flag_ids) && last.flag_ids.length
    ? h("span", { class: "badge sev-medium" }, "Flagged")
    : null;
  const tr = h("tr", {
    dataset: {
      testid: "checkin-row",
      patientId: entry.patient.id,
      today: String(Boolean(entry.checked_in_today)),
      trend: trend.down ? "down" : "steady",
    },
  },
  h("th", { scope: "row" }, displayName(entry.patient)),
  h("td", null, todayBadge, flagged),
  lastCheckinCell(last, today),
  h("td", null, chart,
    trend.down ? h("span", { class: "badge checkin-down", dataset: { testid: "checkin-trend-down" }, title: TREND_RULE }, "Trending down") : null),
  );
  const summary = checkins.length
    ? `${displayName(entry.patient)}, ${checkins.length} check-ins in ${DAYS} days; latest mood ${moodWord(last.mood)}, craving ${last.craving}`
    : `${displayName(entry.patient)} has no check-ins in ${DAYS} days`;
  // Drawn once the row is in the document (uPlot measures its container).
  plots.push(() => checkinChart(chart, chartData(checkins, days), { compact: true, width: 200, height: 56, summary }));
  return tr;
}

export async function renderCohortCheckins(container) {
  useCheckinStyles();
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Daily check-ins");
  const cohorts = session.cohorts();
  const select = h("select", { id: "checkins-cohort", dataset: { testid: "checkins-cohort" } }, cohorts.map((c, i) => option(c.id, c.name, i === 0)));
  const picker = h("div", { class: "field checkins-picker" }, h("label", { for: select.id }, "Cohort"), select);
  picker.hidden = cohorts.length < 2;
  const msg = statusLine("checkins-status");
  const summary = h("p", { class: "checkins-summary", dataset: { testid: "checkins-summary" } });
  const tbody = h("tbody", { dataset: { testid: "checkins-rows" } });
  const table = h("table", { class: "data-table checkins-table", dataset: { testid: "checkins-table" } },
    h("caption", { class: "visually-hidden" }, `Each patient's check-ins over the last ${DAYS} days`),
    h("thead", null, h("tr", null, ["Patient", "Today", "Latest check-in", `Last ${DAYS} days`].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  replace(container, h("section", { class: "view", dataset: { testid: "checkins-view" } },
    heading,
    h("p", { class: "muted" }, "Mood (solid line, Very low to Very good) and craving (dashed, 0 to 10) per patient. Opening this page is recorded in the audit log."),
    picker, msg.el, summary,
    h("div", { class: "table-wrap" }, table),
    h("p", { class: "muted small", dataset: { testid: "checkins-rule" } }, TREND_RULE)));
  heading.focus();

  let plots = [];
  const load = async () => {
    for (const plot of plots) plot.destroy();
    plots = [];
    tbody.replaceChildren();
    summary.textContent = "";
    if (!select.value) {
      msg.set("You are not assigned to a cohort yet.");
      return;
    }
    msg.set("Loading…");
    try {
      const res = await request("GET", `/api/cohorts/${encodeURIComponent(select.value)}/checkins`, { query: { days: DAYS } });
      const days = dayWindow(res.today, DAYS);
      const draws = [];
      for (const entry of res.patients || []) tbody.appendChild(row(entry, days, res.today, draws));
      plots = draws.map((draw) => draw());
      const patients = res.patients || [];
      const missing = patients.filter((p) => !p.checked_in_today).length;
      const down = patients.filter((p) => moodTrend(p.checkins).down).length;
      summary.textContent = patients.length
        ? `${patients.length - missing} of ${pluralize(patients.length, "patient", "patients")} checked in today (${res.today}, ${res.cohort.timezone}). ` +
          `${missing ? `${missing} not yet. ` : ""}${down ? `${pluralize(down, "patient", "patients")} trending down.` : ""}`
        : "";
      msg.set(patients.length ? "" : "This cohort has no patients yet.");
    } catch (err) {
      msg.set(describeError(err), "error");
    }
  };
  select.addEventListener("change", load);
  await load();
}
