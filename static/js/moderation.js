// Counselor/staff controls: per-message (hide, unhide, delete, release, pin),
// per-author (mute, unmute, kick) and per-room (lock, slow mode, unpin).
// Every action is a socket emit with ack; results and errors go to ctx callbacks.
import { h, field, option, describeSeconds, formatTime } from "./dom.js";
import { describeError } from "./errors.js";
import * as sock from "./socket.js";
import { displayName } from "./util.js";

/**
 * ctx = {
 *   roomId(): string, room(): Room,
 *   reason(): string, muteMinutes(): number,
 *   feedback(text, kind), onMessage(Message), onRoom(Room)
 * }
 */
async function run(ctx, button, event, payload, done) {
  if (button) button.disabled = true;
  try {
    const res = await sock.call(event, payload);
    if (res.message) ctx.onMessage(res.message);
    if (res.room) ctx.onRoom(res.room);
    if (done) ctx.feedback(done(res), "success");
    return res;
  } catch (err) {
    ctx.feedback(describeError(err), "error");
    return null;
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
}

function withReason(payload, ctx) {
  const reason = (ctx.reason() || "").trim();
  return reason ? { ...payload, reason } : payload;
}

function modButton(action, label, onClick, extra = {}) {
  return h(
    "button",
    { type: "button", class: ["btn", "btn-small", `mod-${action}`], dataset: { action, ...extra }, onClick },
    label,
  );
}

/** Buttons shown under a message for counselors/staff. */
export function messageModControls(msg, ctx) {
  if (!msg || !msg.id) return null;
  const buttons = [];
  const self = (action, label, event, payload, done) => {
    const b = modButton(action, label, () => run(ctx, b, event, payload(), done), { messageId: msg.id });
    buttons.push(b);
  };
  if (msg.status === "held") {
    self("release", "Release to room", "mod:release", () => ({ message_id: msg.id }), () => "Message released to the room.");
  }
  if (msg.status === "visible" || msg.status === "held") {
    self("hide", "Hide", "mod:hide", () => withReason({ message_id: msg.id }, ctx), () => "Message hidden.");
  }
  if (msg.status === "hidden") {
    self("unhide", "Unhide", "mod:unhide", () => withReason({ message_id: msg.id }, ctx), () => "Message visible again.");
  }
  if (msg.status !== "deleted") {
    self("delete", "Delete", "mod:delete", () => withReason({ message_id: msg.id }, ctx), () => "Message deleted.");
  }
  const room = ctx.room();
  if (msg.status === "visible" && (!room || !room.pinned || room.pinned.id !== msg.id)) {
    self("pin", "Pin", "mod:pin", () => ({ room_id: ctx.roomId(), message_id: msg.id }), () => "Message pinned.");
  }
  const author = msg.author;
  const concern =
    author && author.role === "patient" && !(msg.flag_ids && msg.flag_ids.length) && msg.status !== "deleted"
      ? concernControl(msg, ctx)
      : null;
  const authorControls =
    author && author.role === "patient" ? userModControls(author, ctx, { compact: true }) : null;
  return h(
    "div",
    { class: "mod-controls", role: "group", "aria-label": `Moderate message from ${displayName(author)}`, dataset: { testid: "mod-controls" } },
    buttons,
    concern,
    authorControls,
  );
}

const CONCERN_CATEGORIES = [
  ["suicide", "Suicide"],
  ["self_harm", "Self-harm"],
  ["overdose", "Overdose"],
  ["medical", "Medical"],
  ["harm_others", "Harm to others"],
  ["abuse", "Abuse"],
  ["relapse", "Relapse"],
  ["harassment", "Harassment"],
];

/** "Concerning, not flagged": a counselor flags what the detector missed (and teaches it). */
function concernControl(msg, ctx) {
  const category = h(
    "select",
    { "aria-label": "Category", dataset: { testid: "concern-category" } },
    CONCERN_CATEGORIES.map(([value, label]) => option(value, label)),
  );
  const severity = h(
    "select",
    { "aria-label": "Severity", dataset: { testid: "concern-severity" } },
    [option("medium", "Medium"), option("high", "High"), option("low", "Low")],
  );
  const submit = modButton("concern", "Flag as concerning", () =>
    run(ctx, submit, "mod:concern", withReason({ message_id: msg.id, category: category.value, severity: severity.value }, ctx), () =>
      "Flagged for the team; it will also help the detector learn.",
    ),
  );
  return h(
    "details",
    { class: "mod-concern", dataset: { testid: "mod-concern" } },
    h("summary", null, "Concerning, not flagged"),
    category,
    severity,
    submit,
  );
}

/** Mute / unmute / remove buttons for a patient. */
export function userModControls(user, ctx, { compact = false } = {}) {
  const name = displayName(user);
  const mute = modButton(
    "mute",
    compact ? "Mute author" : "Mute",
    () => {
      const minutes = ctx.muteMinutes();
      run(ctx, mute, "mod:mute", withReason({ room_id: ctx.roomId(), user_id: user.id, minutes }, ctx), (res) =>
        res.until ? `${name} is muted until ${formatTime(res.until)}.` : `${name} is muted for ${describeSeconds(minutes * 60)}.`,
      );
    },
    { userId: user.id },
  );
  mute.setAttribute("aria-label", `Mute ${name}`);
  const unmute = modButton(
    "unmute",
    "Unmute",
    () => run(ctx, unmute, "mod:unmute", { room_id: ctx.roomId(), user_id: user.id }, () => `${name} can write again.`),
    { userId: user.id },
  );
  unmute.setAttribute("aria-label", `Unmute ${name}`);
  const kick = modButton(
    "kick",
    compact ? "Remove author" : "Remove",
    () => run(ctx, kick, "mod:kick", withReason({ room_id: ctx.roomId(), user_id: user.id }, ctx), () => `${name} was removed from the room.`),
    { userId: user.id },
  );
  kick.setAttribute("aria-label", `Remove ${name} from this room`);
  return compact ? [mute, kick] : h("span", { class: "user-mod" }, mute, unmute, kick);
}

/** Room toolbar: lock/unlock, slow mode, unpin, plus the shared reason and mute length. */
export function roomModToolbar(ctx) {
  const reason = h("input", { type: "text", maxlength: "500", autocomplete: "off", dataset: { testid: "mod-reason" } });
  const minutes = h(
    "select",
    { dataset: { testid: "mute-minutes" } },
    [5, 15, 30, 60, 240, 1440].map((m) => option(String(m), describeSeconds(m * 60), m === 15)),
  );
  const slow = h("input", {
    type: "number",
    min: "0",
    max: "3600",
    step: "1",
    inputmode: "numeric",
    dataset: { testid: "slow-mode-seconds" },
  });
  const lockBtn = h("button", { type: "button", class: "btn btn-small", dataset: { testid: "lock-toggle" } });
  const slowBtn = modButton("slow-mode", "Set slow mode", () => {
    const seconds = Math.max(0, Math.min(3600, Math.round(Number(slow.value) || 0)));
    run(ctx, slowBtn, "mod:slow_mode", { room_id: ctx.roomId(), seconds }, () =>
      seconds ? `Slow mode set to ${describeSeconds(seconds)}.` : "Slow mode is off.",
    );
  });
  const unpinBtn = modButton("unpin", "Unpin message", () =>
    run(ctx, unpinBtn, "mod:pin", { room_id: ctx.roomId(), message_id: null }, () => "Pinned message removed."),
  );
  lockBtn.addEventListener("click", () => {
    const room = ctx.room();
    const locking = !(room && room.locked);
    run(ctx, lockBtn, locking ? "mod:lock" : "mod:unlock", { room_id: ctx.roomId() }, () =>
      locking ? "Room locked: members can read but not write." : "Room unlocked.",
    );
  });

  const el = h(
    "details",
    { class: "mod-toolbar", dataset: { testid: "mod-toolbar" } },
    h("summary", null, "Room moderation"),
    h(
      "div",
      { class: "mod-toolbar-body" },
      h("div", { class: "mod-row" }, lockBtn, unpinBtn),
      h("div", { class: "mod-row" }, field("Slow mode (seconds, 0 = off)", slow).wrap, slowBtn),
      field("Reason (optional, audited)", reason).wrap,
      field("Mute length", minutes).wrap,
    ),
  );
  el.open = true;

  function update(room) {
    const locked = Boolean(room && room.locked);
    lockBtn.textContent = locked ? "Unlock room" : "Lock room";
    lockBtn.dataset.action = locked ? "unlock" : "lock";
    lockBtn.setAttribute("aria-pressed", String(locked));
    if (document.activeElement !== slow) slow.value = String(room ? room.slow_mode_seconds || 0 : 0);
    unpinBtn.hidden = !(room && room.pinned);
  }

  return {
    el,
    update,
    reason: () => reason.value,
    muteMinutes: () => Number(minutes.value) || 15,
  };
}
