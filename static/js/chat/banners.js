// The room's state as people see it: locked, slow mode and muted banners, the pinned
// message, and whether the composer is open. Mutes are kept per room in `ctx.mutes`
// (they outlive switching rooms) and lift by themselves when they end.
import { h, replace, formatTime, announce, describeSeconds } from "../dom.js";
import { session } from "../session.js";
import { displayName } from "../util.js";
import { TOMBSTONE_TEXT } from "./render.js";
import { setNotice } from "./view.js";

/** A room changed (joined, updated by a counselor): keep the session's copy and redraw. */
export function applyRoom(ctx, room) {
  if (!room) return;
  session.upsertRoom(room);
  ctx.hooks.onRoomsChanged();
  if (room.id !== ctx.state.roomId) return;
  ctx.state.room = { ...(ctx.state.room || {}), ...room };
  renderRoomState(ctx);
}

function activeMute(ctx, room) {
  const mute = room ? ctx.mutes.get(room.id) : null;
  return mute && new Date(mute.until).getTime() > Date.now() ? mute : null;
}

function banners(ctx, room) {
  const out = [];
  if (room && room.locked) {
    out.push(
      h("p", { class: "banner banner-locked", role: "status", dataset: { testid: "locked-banner" } },
        session.isModerator
          ? "This room is locked. Members can read but not write; counselors and staff can still post."
          : "This room is locked by a counselor for now. You can still read along."),
    );
  }
  if (room && room.slow_mode_seconds > 0) {
    out.push(
      h("p", { class: "banner banner-slow", role: "status", dataset: { testid: "slow-mode-notice", seconds: room.slow_mode_seconds } },
        `Slow mode is on: one message every ${describeSeconds(room.slow_mode_seconds)}.`),
    );
  }
  const mute = activeMute(ctx, room);
  if (mute) {
    out.push(
      h("p", { class: "banner banner-muted", role: "status", dataset: { testid: "muted-banner" } },
        `A counselor has paused your messages in this room until ${formatTime(mute.until)}.`,
        mute.reason ? ` Reason: ${mute.reason}` : ""),
    );
  }
  return out;
}

export function renderRoomState(ctx) {
  const { ui } = ctx;
  if (!ui) return;
  const room = ctx.state.room;
  if (room) {
    ui.title.textContent = room.name || "Room";
    ui.subtitle.textContent = room.cohort_name || "";
  }
  if (ui.toolbar) ui.toolbar.update(room);
  replace(ui.banners, banners(ctx, room));
  renderPinned(ctx);
  updateComposerEnabled(ctx);
}

export function renderPinned(ctx) {
  const { ui } = ctx;
  if (!ui) return;
  const pin = ctx.state.room && ctx.state.room.pinned;
  if (!pin) {
    replace(ui.pinned);
    return;
  }
  const tomb = pin.text === null || pin.text === undefined;
  replace(
    ui.pinned,
    h(
      "aside",
      { class: "pinned", "aria-label": "Pinned message", dataset: { testid: "pinned-message", messageId: pin.id } },
      h("p", { class: "pinned-label small" }, "Pinned by the counselors"),
      h("p", { class: "pinned-text" }, tomb ? TOMBSTONE_TEXT : pin.text),
      h("p", { class: "muted small" }, displayName(pin.author), pin.created_at ? ` · ${formatTime(pin.created_at)}` : ""),
    ),
  );
}

/** Members cannot write in a locked room or while muted; counselors always can. */
function updateComposerEnabled(ctx) {
  const { ui } = ctx;
  if (!ui) return;
  const room = ctx.state.room;
  const mute = activeMute(ctx, room);
  const muted = !session.isModerator && mute;
  const locked = !session.isModerator && room && room.locked;
  const disabled = Boolean(muted || locked);
  ui.input.disabled = disabled;
  ui.sendBtn.disabled = disabled;
  if (locked) setNotice(ui, "The room is locked, so sending is paused.", "info");
  else if (muted) setNotice(ui, `You can write again at ${formatTime(mute.until)}.`, "info");
  else if (ui.notice.dataset.kind === "info") setNotice(ui, "");
}

export function applyMute(ctx, roomId, until, reason) {
  ctx.mutes.set(roomId, { until, reason });
  clearTimeout(ctx.mutedTimer);
  const ms = new Date(until).getTime() - Date.now();
  if (ms > 0 && ms < 2 ** 31 - 1) {
    ctx.mutedTimer = setTimeout(() => {
      ctx.mutes.delete(roomId);
      renderRoomState(ctx);
      if (roomId === ctx.state.roomId) announce("You can write in this room again.");
    }, ms + 500);
  }
  if (roomId === ctx.state.roomId) renderRoomState(ctx);
}
