// Crisis resources panel: calm, non-blocking, dismissible; focus moves to it and it
// is announced assertively. Phone numbers become tel: links, text lines sms: links.
import { h, replace } from "./dom.js";
import { describeError } from "./errors.js";
import { helpAfterFailure, helpStatusText } from "./helptext.js";
import * as sock from "./socket.js";

// Used only if the server sends no resources (it normally sends them in the user's language).
const FALLBACK = {
  text: "You don't have to carry this alone. If you are thinking about hurting yourself, or you are in danger, please reach out now. People are ready to listen, any time of day.",
  resources: [
    { name: "988 Suicide & Crisis Lifeline", contact: "Call or text 988", note: "Free and confidential, 24/7. Spanish: press 2, or text AYUDA to 988." },
    { name: "Crisis Text Line", contact: "Text HOME to 741741", note: "Text with a trained crisis counselor, 24/7." },
    { name: "Emergency", contact: "Call 911", note: "If you or someone else is in immediate danger." },
    { name: "Poison Help", contact: "Call 1-800-222-1222", note: "If you think you or someone else may have overdosed." },
  ],
};

let slot = null;
let lastPayload = null;
let returnFocusTo = null;
// The help request (help:request): null, or {state, flagId, onCall, by, error}.
let help = null;
let helpContext = { canAsk: () => false, roomId: () => null };

export function mountCrisis(container, context = {}) {
  slot = container;
  slot.hidden = true;
  helpContext = { ...helpContext, ...context };
}

async function askForHelp() {
  const before = help;
  help = { state: "sending" };
  render();
  try {
    const ack = await sock.call("help:request", { room_id: helpContext.roomId() || undefined });
    help = { state: "sent", flagId: ack.flag_id, onCall: ack.counselor_on_call };
  } catch (err) {
    help = helpAfterFailure(before, err, describeError);
  }
  render();
}

/** `help:updated`: a counselor acknowledged (or resolved) the patient's request. */
export function onHelpUpdated(data) {
  if (!data || (help && help.flagId && data.flag_id !== help.flagId)) return;
  help = { ...(help || {}), state: "acknowledged", flagId: data.flag_id, by: data.by };
  if (slot && !slot.hidden) render();
  else showCrisis(lastPayload);
}

function helpSection() {
  if (!helpContext.canAsk()) return null;
  const status = helpStatusText(help);
  const asked = help && help.state !== "failed";
  return h(
    "div",
    { class: "crisis-help", dataset: { testid: "crisis-help" } },
    h(
      "button",
      {
        type: "button",
        class: "btn btn-help",
        dataset: { action: "ask-for-help", testid: "ask-for-help" },
        disabled: help && help.state === "sending" ? true : undefined,
        onClick: askForHelp,
      },
      asked ? "Ask again" : "Ask a counselor to reach out to me now",
    ),
    h("p", { role: "status", "aria-live": "assertive", dataset: { testid: "help-status", state: help ? help.state : "" } }, status),
  );
}

function render() {
  showCrisis(lastPayload, { keepFocus: true });
}

const TEXT_WORDS = /\b(text|txt|sms|message|texto|textea|env[ií]a|mensaje)\b/i;
const CALL_WORDS = /\b(call|phone|dial|llama|llamar|tel[eé]fono|press)\b/i;

/** Split a contact string into phone-ish numbers with how they can be reached. */
export function contactActions(contact, note) {
  const str = String(contact || "");
  const words = `${str} ${note || ""}`;
  const mentionsText = TEXT_WORDS.test(str) || (TEXT_WORDS.test(words) && !CALL_WORDS.test(str));
  const mentionsCall = CALL_WORDS.test(str);
  const actions = [];
  const seen = new Set();
  const re = /\+?\d[\d\s().-]*\d|\b\d{3}\b/g;
  let m;
  while ((m = re.exec(str)) !== null) {
    const raw = m[0].trim();
    const digits = raw.replace(/[^\d+]/g, "");
    const bare = digits.replace(/\D/g, "");
    if (bare.length < 3 || bare.length > 15 || seen.has(digits)) continue;
    seen.add(digits);
    const shortCode = bare.length >= 4 && bare.length <= 6; // e.g. 741741: text only
    const canText = mentionsText || shortCode;
    const canCall = !shortCode && (mentionsCall || !mentionsText || /\bor\b|\bo\b/i.test(str));
    if (canCall) actions.push({ kind: "call", href: `tel:${digits}`, label: `Call ${raw}` });
    if (canText) actions.push({ kind: "text", href: `sms:${digits}`, label: `Text ${raw}` });
  }
  const url = /https:\/\/[^\s]+/i.exec(str);
  if (url) actions.push({ kind: "web", href: url[0], label: "Open website" });
  return actions;
}

function resourceItem(r) {
  const actions = contactActions(r.contact, r.note);
  return h(
    "li",
    { class: "crisis-resource", dataset: { testid: "crisis-resource" } },
    h("p", { class: "crisis-name" }, String(r.name || "")),
    r.contact ? h("p", { class: "crisis-contact" }, String(r.contact)) : null,
    actions.length
      ? h(
          "p",
          { class: "crisis-actions" },
          actions.map((a) =>
            h(
              "a",
              {
                class: ["btn", "btn-link", `crisis-${a.kind}`],
                href: a.href,
                dataset: { testid: `crisis-${a.kind}` },
                rel: a.kind === "web" ? "noopener noreferrer" : undefined,
                target: a.kind === "web" ? "_blank" : undefined,
              },
              a.label,
            ),
          ),
        )
      : null,
    r.note ? h("p", { class: "crisis-note" }, String(r.note)) : null,
  );
}

/** Show the panel for a `crisis:resources` payload (or the last/fallback one). */
export function showCrisis(payload, { keepFocus = false } = {}) {
  if (!slot) return;
  const data = payload && Array.isArray(payload.resources) && payload.resources.length ? payload : { ...FALLBACK, ...(payload || {}), resources: FALLBACK.resources };
  lastPayload = data;
  if (!returnFocusTo || !document.contains(returnFocusTo)) returnFocusTo = document.activeElement;
  const headingId = "crisis-heading";
  const dismiss = h(
    "button",
    { type: "button", class: "btn btn-quiet", dataset: { action: "dismiss-crisis", testid: "crisis-dismiss" }, onClick: hideCrisis },
    "Close",
  );
  const panel = h(
    "section",
    {
      class: "crisis-panel",
      role: "region",
      "aria-labelledby": headingId,
      tabindex: "-1",
      dataset: { testid: "crisis-panel", messageId: data.message_id || "" },
    },
    h(
      "div",
      { class: "crisis-head" },
      h("h2", { id: headingId }, "Support is here for you"),
      dismiss,
    ),
    h("div", { "aria-live": "assertive", "aria-atomic": "true" },
      h("p", { class: "crisis-text", dataset: { testid: "crisis-text" } }, String(data.text || FALLBACK.text))),
    helpSection(),
    h("ul", { class: "crisis-list" }, data.resources.map(resourceItem)),
    h(
      "p",
      { class: "crisis-footer muted small" },
      "A counselor from your program can also see this chat. You can keep writing here, and you can reopen this list from “Get help now” at the top.",
    ),
  );
  const hadFocus = keepFocus && slot.contains(document.activeElement) ? document.activeElement.dataset?.testid : null;
  replace(slot, panel);
  slot.hidden = false;
  if (hadFocus) panel.querySelector(`[data-testid="${hadFocus}"]`)?.focus();
  else panel.focus();
}

export function showHelp() {
  showCrisis(lastPayload);
}

export function hideCrisis() {
  if (!slot) return;
  slot.hidden = true;
  slot.replaceChildren();
  const target = returnFocusTo;
  returnFocusTo = null;
  if (target && document.contains(target) && typeof target.focus === "function") target.focus();
  else document.getElementById("main")?.focus();
}

export function resetCrisis() {
  lastPayload = null;
  help = null;
  if (slot) {
    slot.hidden = true;
    slot.replaceChildren();
  }
}
