// Sending from the composer: the message is shown at once as "sending" and handed to
// the outbox, which sends it in order behind anything still waiting.
import { newClientId } from "../util.js";
import { scrollToBottom, showPending } from "./messages.js";
import { setNotice, updateCount } from "./view.js";

const MAX_CHARS = 2000;

export function submitComposer(ctx) {
  const { ui, state } = ctx;
  if (!ui || !state.roomId) return;
  const text = ui.input.value.trim();
  if (!text) return;
  if ([...text].length > MAX_CHARS) {
    setNotice(ui, "That is too long to send. Please shorten it (2,000 characters at most).", "error");
    return;
  }
  if (ui.input.disabled) return;
  const p = ctx.outbox.add({ room_id: state.roomId, text, client_id: newClientId() });
  ui.input.value = "";
  updateCount(ui);
  ctx.typing.stop();
  setNotice(ui, "");
  showPending(ctx, p);
  scrollToBottom(ctx);
  ctx.outbox.flush();
}
