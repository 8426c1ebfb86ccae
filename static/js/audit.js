// Audit log (staff): filters by actor, action and time, newest first, load more.
import { h, replace, field, option, timeEl, localInputToIso, statusLine } from "./dom.js";
import { api } from "./api.js";
import { cursorPager } from "./paging.js";
import { displayName } from "./util.js";

const KNOWN_ACTIONS = [
  "auth.login", "auth.login_failed", "auth.logout", "mod.hide", "mod.unhide", "mod.delete",
  "mod.release", "mod.mute", "mod.unmute", "mod.kick", "mod.lock", "mod.unlock", "mod.slow_mode",
  "mod.pin", "flag.read", "flag.ack", "flag.resolve", "admin.user_create", "admin.user_update",
  "admin.cohort_create", "admin.cohort_update", "retention.purge",
];

export async function renderAudit(container) {
  const heading = h("h2", { tabindex: "-1", dataset: { testid: "view-title" } }, "Audit log");
  const actor = h("select", { dataset: { testid: "audit-actor" } }, option("", "Anyone"));
  const action = h("input", { type: "text", list: "audit-actions", autocomplete: "off", dataset: { testid: "audit-action" } });
  const datalist = h("datalist", { id: "audit-actions" }, KNOWN_ACTIONS.map((a) => option(a, a)));
  const since = h("input", { type: "datetime-local", dataset: { testid: "audit-since" } });
  const limit = h("select", { dataset: { testid: "audit-limit" } }, ["50", "100", "200"].map((n) => option(n, `${n} per page`)));
  const form = h("form", { class: "filters", "aria-label": "Filter audit log", dataset: { testid: "audit-filters" } },
    field("Who", actor).wrap,
    field("Action", action, "For example mod.hide or flag.read").wrap,
    datalist,
    field("Since", since).wrap,
    field("Page size", limit).wrap,
    h("div", { class: "field field-button" }, h("button", { type: "submit", class: "btn btn-primary" }, "Show")));
  const msg = statusLine("audit-status");
  const tbody = h("tbody", { dataset: { testid: "audit-rows" } });
  const table = h("table", { class: "data-table", dataset: { testid: "audit-table" } },
    h("caption", { class: "visually-hidden" }, "Audit entries, newest first"),
    h("thead", null, h("tr", null, ["When", "Who", "Action", "Target", "Origin", "Details"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  const more = h("button", { type: "button", class: "btn", dataset: { testid: "load-more" } }, "Load more");
  more.hidden = true;
  replace(container, h("section", { class: "view", dataset: { testid: "audit-view" } }, heading, form, msg.el, h("div", { class: "table-wrap" }, table), more));
  heading.focus();

  api.users().then((res) => {
    const users = (res.users || []).slice().sort((a, b) => String(a.display_name).localeCompare(String(b.display_name)));
    for (const u of users) actor.appendChild(option(u.id, `${u.display_name} (${u.username}, ${u.role})`));
  }).catch(() => {});

  const load = cursorPager({
    tbody,
    row,
    msg,
    more,
    fetchPage: async (cursor) => {
      const res = await api.audit({
        actor_id: actor.value,
        action: action.value.trim(),
        since: localInputToIso(since.value),
        limit: limit.value,
        cursor,
      });
      return { items: res.entries, next_cursor: res.next_cursor };
    },
    countText: (n) => (n ? `${n} entr${n === 1 ? "y" : "ies"} shown.` : "No entries match these filters."),
  });

  function row(e) {
    const details = e.details && Object.keys(e.details).length ? JSON.stringify(e.details) : "";
    return h("tr", { dataset: { testid: "audit-row", entryId: e.id, action: e.action } },
      h("td", null, timeEl(e.at)),
      h("td", null, e.actor ? `${displayName(e.actor)}${e.actor.role ? ` (${e.actor.role})` : ""}` : "System"),
      h("td", null, h("code", null, e.action || "")),
      h("td", null, e.target ? `${e.target.type || ""} ${e.target.id || ""}`.trim() : ""),
      h("td", { class: "small" }, e.origin ? [e.origin.ip || "", e.origin.user_agent ? h("span", { class: "muted block" }, e.origin.user_agent) : null] : ""),
      h("td", { class: "small cell-text" }, details ? h("code", null, details) : ""));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load(true);
  });
  await load(true);
}
