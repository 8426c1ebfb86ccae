// Lexicon feedback report (staff): which terms misfire, from false_positive resolutions.
import { h, replace, statusLine } from "./dom.js";
import { describeError } from "./errors.js";
import { api } from "./api.js";
import { categoryLabel } from "./util.js";

const pct = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

export async function renderLexicon(container) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Lexicon feedback");
  const intro = h("p", { class: "muted" }, "How often each term led to a flag, and how often a counselor resolved it as a false positive. Terms with a high rate are candidates for tuning.");
  const msg = statusLine("lexicon-status");
  const tbody = h("tbody", { dataset: { testid: "lexicon-rows" } });
  const table = h("table", { class: "data-table", dataset: { testid: "lexicon-table" } },
    h("caption", { class: "visually-hidden" }, "Terms, highest false-positive rate first"),
    h("thead", null, h("tr", null, ["Term", "Category", "Flags", "False positives", "Rate"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  replace(container, h("section", { class: "view", dataset: { testid: "lexicon-view" } }, heading, intro, msg.el, h("div", { class: "table-wrap" }, table)));
  heading.focus();
  msg.set("Loading…");
  try {
    const res = await api.lexiconReport();
    const terms = (res.terms || []).slice().sort((a, b) => (b.false_positive_rate || 0) - (a.false_positive_rate || 0) || (b.flags || 0) - (a.flags || 0));
    for (const t of terms) {
      tbody.appendChild(h("tr", { dataset: { testid: "lexicon-row", term: t.term } },
        h("td", null, h("q", null, String(t.term))),
        h("td", null, categoryLabel(t.category)),
        h("td", { class: "num" }, String(t.flags ?? 0)),
        h("td", { class: "num" }, String(t.false_positives ?? 0)),
        h("td", { class: "num" }, pct.format(Number(t.false_positive_rate) || 0))));
    }
    msg.set(terms.length ? "" : "No flags yet, so nothing to report.");
  } catch (err) {
    msg.set(describeError(err), "error");
  }
}
