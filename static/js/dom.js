// Tiny DOM helpers. Everything is built with createElement / createTextNode /
// textContent: no HTML string is ever parsed, so user data can never become markup.

const BLOCKED_ATTR = /^(on|style$|srcdoc$)/i;
const URL_ATTR = /^(href|src|action|formaction|xlink:href)$/i;
// Links may be relative, or web, phone, SMS and mail: never javascript:, data:, vbscript:.
const SAFE_URL = /^(?:[#/?]|\.{0,2}\/|https?:|tel:|sms:|mailto:)/i;

/** Whether a URL may go into href/src: pure, unit-tested under node. */
export function isSafeUrl(value) {
  const url = String(value).trim();
  return url !== "" && SAFE_URL.test(url) && !/^\/\//.test(url);
}

/**
 * h("button", {class: "x", dataset: {action: "hide"}, onClick: fn}, "Hide")
 * - strings and numbers become text nodes; null/undefined/false children are skipped;
 * - `on<Event>` keys with a function value become addEventListener calls;
 * - `dataset` sets data-* attributes; boolean `true` sets an empty attribute;
 * - `style` and inline event-handler attributes are refused (CSP and safety).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "dataset") {
        for (const [dk, dv] of Object.entries(value)) {
          if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv);
        }
      } else if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
      } else if (key === "text") {
        el.textContent = String(value);
      } else if (key === "value" && "value" in el) {
        el.value = String(value);
      } else if (key === "checked" || key === "disabled" || key === "selected" || key === "hidden") {
        el[key] = Boolean(value);
      } else if (BLOCKED_ATTR.test(key)) {
        throw new Error(`attribute not allowed: ${key}`);
      } else if (URL_ATTR.test(key) && !isSafeUrl(value)) {
        throw new Error(`URL not allowed in ${key}`);
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Remove every child of el, then append the given children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function text(value) {
  return document.createTextNode(value === null || value === undefined ? "" : String(value));
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $all(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

let idCounter = 0;
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
  return { wrap, input: control };
}

export function option(value, label, selected = false) {
  const o = h("option", { value }, label);
  if (selected) o.selected = true;
  return o;
}

// ---- time -------------------------------------------------------------------

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
});
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
const dateOnlyFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function parse(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Short local time: "3:04 PM" today, "Dec 1, 3:04 PM" otherwise. */
export function formatTime(iso) {
  const d = parse(iso);
  if (!d) return "";
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? timeFmt.format(d) : dateTimeFmt.format(d);
}

export function formatFull(iso) {
  const d = parse(iso);
  return d ? fullFmt.format(d) : "";
}

export function formatDate(value) {
  if (!value) return "";
  // Plain calendar dates ("2026-01-05") are shown as that day, not shifted by the time zone.
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : parse(value);
  return d ? dateOnlyFmt.format(d) : String(value);
}

/** <time datetime=ISO title=full>short</time> */
export function timeEl(iso, format = formatTime) {
  return h("time", { datetime: iso || "", title: formatFull(iso) }, format(iso));
}

/** Value of an <input type="datetime-local"> (local time) -> ISO-8601 UTC, or "" */
export function localInputToIso(value) {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

export function pluralize(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

export function describeSeconds(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  if (s < 60) return pluralize(s, "second", "seconds");
  const m = Math.ceil(s / 60);
  if (m < 60) return pluralize(m, "minute", "minutes");
  const hrs = Math.round(m / 60);
  return pluralize(hrs, "hour", "hours");
}

// ---- screen-reader announcements -----------------------------------------------

let politeRegion = null;
export function announce(message) {
  if (!politeRegion) politeRegion = document.getElementById("sr-announcer");
  if (!politeRegion) return;
  // Replace the node so the same text twice is still announced.
  politeRegion.replaceChildren(h("p", null, message));
}

/** A small status line used under forms: kind = "info" | "error" | "success". */
export function statusLine(testid) {
  const el = h("p", { class: "status-line", role: "status", "aria-live": "polite", dataset: { testid } });
  el.hidden = true;
  return {
    el,
    set(message, kind = "info") {
      el.textContent = message || "";
      el.dataset.kind = kind;
      el.hidden = !message;
    },
    clear() {
      el.textContent = "";
      el.hidden = true;
    },
  };
}
