// Cursor pagination for the staff tables (review queue, audit log): one loader that
// clears or extends the table, keeps the cursor, shows "Load more" while there is one,
// and reports progress and errors in the view's status line.
import { describeError } from "./errors.js";

// fetchPage(cursor) -> {items, next_cursor}; countText(n) -> status text for n rows.
export function cursorPager({ tbody, row, msg, more, fetchPage, countText }) {
  let cursor = null;
  async function load(reset) {
    if (reset) {
      cursor = null;
      tbody.replaceChildren();
    }
    msg.set("Loading…");
    more.disabled = true;
    try {
      const res = await fetchPage(reset ? undefined : cursor);
      for (const item of res.items || []) tbody.appendChild(row(item));
      cursor = res.next_cursor || null;
      more.hidden = !cursor;
      msg.set(countText(tbody.children.length));
    } catch (err) {
      msg.set(describeError(err), "error");
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => load(false));
  return load;
}
