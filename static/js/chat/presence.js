// Who is in the room now: the "N online" list, with role badges and, for counselors,
// the per-person controls. The people are kept in `ctx.state.online` (per room).
import { h, replace } from "../dom.js";
import { session } from "../session.js";
import { displayName, ROLE_LABEL } from "../util.js";
import { userModControls } from "../moderation.js";
import { typingText } from "./typing.js";

export function renderOnline(ctx) {
  const { ui } = ctx;
  if (!ui) return;
  const users = [...ctx.state.online.values()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
  ui.onlineCount.textContent = `${users.length} online`;
  replace(
    ui.onlineList,
    users.map((u) =>
      h(
        "li",
        { dataset: { testid: "online-user", userId: u.id } },
        h("span", { class: "presence-dot", "aria-hidden": "true" }),
        displayName(u),
        u.role && u.role !== "patient" ? h("span", { class: ["badge", "role-badge", `role-${u.role}`] }, ROLE_LABEL[u.role] || u.role) : null,
        session.user && u.id === session.user.id ? h("span", { class: "muted small" }, " (you)") : null,
        session.isModerator && u.role === "patient" ? userModControls(u, ctx.modCtx()) : null,
      ),
    ),
  );
}

/** Someone came online or left; whoever left is no longer typing either. */
export function applyPresence(ctx, data) {
  if (data.online) ctx.state.online.set(data.user.id, data.user);
  else {
    ctx.state.online.delete(data.user.id);
    ctx.typing.forget(data.user.id);
  }
  renderOnline(ctx);
}

export function renderTyping(ctx) {
  if (!ctx.ui) return;
  ctx.ui.typing.textContent = typingText(ctx.typing.users().map(displayName));
}
