// The room pane's DOM: built once per mount, its elements kept in `ctx.ui`. Also the
// small status lines under it (composer notice, character count, counselor feedback).
import { h, replace } from "../dom.js";
import { session } from "../session.js";

function header() {
  const title = h("h2", { id: "room-title", tabindex: "-1", dataset: { testid: "room-title" } }, "Choose a room");
  const subtitle = h("p", { class: "room-subtitle muted", dataset: { testid: "room-subtitle" } });
  const onlineCount = h("p", { class: "online-count muted small", dataset: { testid: "online-count" } });
  const onlineList = h("ul", { class: "online-list", "aria-label": "Online now", dataset: { testid: "online-list" } });
  const onlineDetails = h("details", { class: "online-details" }, h("summary", null, onlineCount), onlineList);
  const el = h("header", { class: "room-header" }, h("div", { class: "room-heading" }, title, subtitle), onlineDetails);
  return { el, title, subtitle, onlineCount, onlineList };
}

function messageArea(on) {
  const loadOlderBtn = h(
    "button",
    { type: "button", class: "btn btn-quiet load-older", dataset: { testid: "load-older" }, onClick: () => on.loadOlder() },
    "Load older messages",
  );
  loadOlderBtn.hidden = true;
  const list = h("ol", { class: "message-list", "aria-label": "Messages", tabindex: "0", dataset: { testid: "message-list" } });
  const scroller = h("div", { class: "message-scroller", dataset: { testid: "message-scroller" } }, loadOlderBtn, list);
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < 60) on.nearTop();
  });
  return { loadOlderBtn, list, scroller };
}

function composerForm(on) {
  const input = h("textarea", {
    id: "composer-input",
    rows: "2",
    maxlength: "2000",
    autocomplete: "off",
    placeholder: "Write a message…",
    "aria-describedby": "composer-notice composer-count",
    dataset: { testid: "composer-input" },
  });
  const sendBtn = h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "send-button" } }, "Send");
  const notice = h("p", { id: "composer-notice", class: "composer-notice", role: "status", dataset: { testid: "composer-notice" } });
  const count = h("span", { id: "composer-count", class: "composer-count muted small", "aria-live": "off" });
  const composer = h(
    "form",
    { class: "composer", dataset: { testid: "composer" }, "aria-label": "Send a message" },
    h("label", { for: "composer-input", class: "visually-hidden" }, "Message"),
    h("div", { class: "composer-row" }, input, sendBtn),
    h("div", { class: "composer-meta" }, notice, count),
  );
  composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    on.submit();
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      on.submit();
    }
  });
  input.addEventListener("input", () => on.input());
  input.addEventListener("blur", () => on.blur());
  return { input, sendBtn, notice, count, composer };
}

/**
 * Build the pane into `container` and return its parts.
 * @param {object} on  {loadOlder, nearTop, submit, input, blur}
 * @param {object|null} toolbar  the counselor toolbar (moderation.js), if any
 */
export function buildRoomPane(container, on, toolbar) {
  const head = header();
  const area = messageArea(on);
  const form = composerForm(on);
  const banners = h("div", { class: "room-banners" });
  const pinned = h("div", { class: "pinned-slot" });
  const emptyNote = h("p", { class: "empty-note muted", dataset: { testid: "empty-room" } }, "No messages yet. You can start the conversation.");
  emptyNote.hidden = true;
  const roomError = h("div", { class: "room-error", role: "alert", dataset: { testid: "room-error" } });
  roomError.hidden = true;
  const typing = h("p", { class: "typing-indicator muted small", dataset: { testid: "typing-indicator" } });
  const modStatus = h("p", { class: "status-line", role: "status", dataset: { testid: "mod-status" } });
  modStatus.hidden = true;
  const pane = h(
    "section",
    { class: "room-pane", "aria-labelledby": "room-title", dataset: { testid: "room-pane" } },
    head.el,
    toolbar ? toolbar.el : null,
    modStatus,
    banners,
    pinned,
    roomError,
    emptyNote,
    area.scroller,
    typing,
    form.composer,
  );
  replace(container, pane);
  const { el: _header, ...headParts } = head;
  return { container, pane, ...headParts, banners, pinned, ...area, emptyNote, roomError, typing, modStatus, ...form, toolbar };
}

/** No room open: say why, hide what only makes sense inside a room. */
export function renderEmptyState(ui) {
  if (!ui) return;
  ui.title.textContent = session.rooms.length ? "Choose a room" : "No rooms yet";
  ui.subtitle.textContent = session.rooms.length
    ? "Pick a room from the list to start reading and writing."
    : "You have not been added to a cohort yet. Your counselor or program staff can add you.";
  ui.composer.hidden = true;
  ui.scroller.hidden = true;
  ui.typing.hidden = true;
  ui.pane.querySelector(".online-details").hidden = true;
  if (ui.toolbar) ui.toolbar.el.hidden = true;
  replace(ui.banners);
  replace(ui.pinned);
  ui.emptyNote.hidden = true;
}

export function setNotice(ui, text, kind = "info") {
  if (!ui) return;
  ui.notice.textContent = text || "";
  ui.notice.dataset.kind = text ? kind : "";
}

export function updateCount(ui) {
  if (!ui) return;
  const n = [...ui.input.value].length;
  ui.count.textContent = n > 1500 ? `${n} / 2000` : "";
}

/** Feedback for counselor actions; a success fades after a few seconds. */
export function setModStatus(ctx, text, kind) {
  const { ui } = ctx;
  if (!ui) return;
  ui.modStatus.textContent = text;
  ui.modStatus.dataset.kind = kind;
  ui.modStatus.hidden = !text;
  clearTimeout(ctx.modStatusTimer);
  if (kind === "success") ctx.modStatusTimer = setTimeout(() => ctx.ui && (ctx.ui.modStatus.hidden = true), 6000);
}
