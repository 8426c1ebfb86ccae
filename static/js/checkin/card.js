// The patient's daily check-in: two sliders with words (mood, craving), an optional note,
// "Saved for today" after the server's ack, and a chart of their own last four weeks.
// Saving again the same day replaces that day's check-in (the server keeps one a day).
import { h, replace, statusLine, field, announce, formatTime } from "../dom.js";
import { describeError } from "../errors.js";
import { request } from "../api.js";
import * as sock from "../socket.js";
import { checkinChart, useCheckinStyles } from "./chart.js";
import {
  CRAVING_MAX,
  CRAVING_MIN,
  MOOD_MAX,
  MOOD_MIN,
  chartData,
  cravingWord,
  dayWindow,
  moodWord,
} from "./trend.js";

const CHART_DAYS = 28;
const NOTE_MAX = 500;

function slider({ name, min, max, value, words, describe, ends, testid }) {
  const output = h("output", { class: "checkin-value", dataset: { testid: `${testid}-word` } });
  const input = h("input", {
    type: "range",
    id: `checkin-${name}`,
    name,
    min: String(min),
    max: String(max),
    step: "1",
    value: String(value),
    class: "checkin-range",
    dataset: { testid },
  });
  const sync = () => {
    const v = Number(input.value);
    output.textContent = describe(v);
    input.setAttribute("aria-valuetext", describe(v));
  };
  input.addEventListener("input", sync);
  sync();
  const scale = h("div", { class: "checkin-scale", "aria-hidden": "true" }, h("span", null, ends[0]), h("span", null, ends[1]));
  const label = h("label", { for: input.id }, h("span", null, words), output);
  return { wrap: h("div", { class: "field checkin-field" }, label, input, scale), input, sync };
}

function describeSubmitError(err) {
  if (err && err.alerted) {
    // The server's words: they say whether a counselor is on call to have it.
    return err.serverMessage || "Your check-in could not be saved right now, but the clinic has your note. If you are in danger, call or text 988, or call 911.";
  }
  if (err && err.code === "rate_limited") {
    return "You saved several times just now. Please wait a minute and try again.";
  }
  return describeError(err);
}

export async function renderCheckin(container) {
  useCheckinStyles();
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Daily check-in");
  const mood = slider({
    name: "mood", min: MOOD_MIN, max: MOOD_MAX, value: 3, words: "How is your mood today?",
    describe: (v) => moodWord(v), ends: ["Very low", "Very good"], testid: "checkin-mood",
  });
  const craving = slider({
    name: "craving", min: CRAVING_MIN, max: CRAVING_MAX, value: 0, words: "How strong are cravings today?",
    describe: (v) => `${cravingWord(v)} (${v} of 10)`, ends: ["None", "Intense"], testid: "checkin-craving",
  });
  const note = h("textarea", { name: "note", rows: "3", maxlength: String(NOTE_MAX), dataset: { testid: "checkin-note" } });
  const noteField = field(
    "Anything you want your counselor to know? (optional)",
    note,
    "Only your counselors read this; it is never posted to your group. If you are in danger now, use “Get help now” or call or text 988.",
  );
  const submit = h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "checkin-submit" } }, "Save check-in");
  const saved = h("p", { class: "checkin-saved", role: "status", dataset: { testid: "checkin-saved" } });
  saved.hidden = true;
  const msg = statusLine("checkin-status");
  const form = h("form", { class: "checkin-form", dataset: { testid: "checkin-form" }, novalidate: true },
    mood.wrap, craving.wrap, noteField.wrap,
    h("div", { class: "detail-actions" }, submit), saved, msg.el);
  const chart = h("div", { class: "checkin-chart", dataset: { testid: "checkin-chart" } });
  const chartMsg = statusLine("checkin-chart-status");
  const legend = h("p", { class: "muted small" }, "Solid line: mood (Very low to Very good). Dashed line: craving (0 none to 10 intense). A gap is a day without a check-in.");
  replace(container, h("section", { class: "view checkin-view", dataset: { testid: "checkin-view" } },
    heading,
    h("p", { class: "muted" }, "A minute a day helps you and your counselor see how things are going. Your group does not see your check-ins."),
    h("div", { class: "checkin-layout" },
      h("div", { class: "card checkin-card" }, form),
      h("div", { class: "card checkin-history" }, h("h3", null, "Your last four weeks"), chartMsg.el, chart, legend))));
  heading.focus();

  let today = null;
  let plot = null;
  const showSaved = (checkin) => {
    saved.replaceChildren(
      h("span", { dataset: { testid: "checkin-saved-title" } }, `Saved for today · ${formatTime(checkin.submitted_at)}`),
      h("span", { class: "checkin-saved-values", dataset: { testid: "checkin-saved-values" } },
        `Mood: ${moodWord(checkin.mood)} · Craving: ${cravingWord(checkin.craving)} (${checkin.craving} of 10)`),
      h("span", { class: "checkin-saved-hint" }, "Saving again replaces today's check-in."),
    );
    saved.hidden = false;
    submit.textContent = "Update today's check-in";
  };
  const draw = (checkins) => {
    if (!today) return;
    if (plot) plot.destroy();
    const days = dayWindow(today, CHART_DAYS);
    const summary = checkins.length
      ? `Your check-ins over ${CHART_DAYS} days: ${checkins.map((c) => `${c.day} mood ${moodWord(c.mood)}, craving ${c.craving}`).join("; ")}`
      : "No check-ins yet.";
    plot = checkinChart(chart, chartData(checkins, days), { summary });
    chartMsg.set(checkins.length ? "" : "Your check-ins will appear here.");
  };

  let history = [];
  const load = async () => {
    try {
      const res = await request("GET", "/api/me/checkins", { query: { days: CHART_DAYS } });
      today = res.today;
      history = res.checkins || [];
      const mine = history.find((c) => c.day === today);
      if (mine) {
        mood.input.value = String(mine.mood);
        craving.input.value = String(mine.craving);
        note.value = mine.note || "";
        mood.sync();
        craving.sync();
        showSaved(mine);
      }
      draw(history);
    } catch (err) {
      chartMsg.set(describeError(err), "error");
    }
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    msg.clear();
    submit.disabled = true;
    try {
      const payload = { mood: Number(mood.input.value), craving: Number(craving.input.value) };
      if (note.value.trim()) payload.note = note.value.trim();
      const { checkin } = await sock.call("checkin:submit", payload);
      today = checkin.day;
      history = [...history.filter((c) => c.day !== checkin.day), checkin];
      showSaved(checkin);
      announce("Check-in saved for today.");
      draw(history);
    } catch (err) {
      msg.set(describeSubmitError(err), "error");
    } finally {
      submit.disabled = false;
    }
  });

  await load();
}
