// The "Report" control under a peer's message and its form. The open forms and their
// drafts live in the object returned by createReports, so that a message re-rendered
// (an update, a role change) keeps the reason being written.
import { h, field } from "../dom.js";
import { describeError } from "../errors.js";
import { displayName } from "../util.js";

/**
 * @param {object} deps
 * @param {(msg: object) => void} deps.rerender  draw the message again
 * @param {(messageId: string) => Element|undefined} deps.element  the message's list item
 * @param {(event: string, payload: object) => Promise<object>} deps.call  the socket
 */
export function createReports({ rerender, element, call }) {
  let drafts = new Map(); // message id -> draft reason (open forms only)

  function focusIn(msg, selector) {
    element(msg.id)?.querySelector(selector)?.focus();
  }

  function openButton(msg) {
    return h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-quiet",
        dataset: { action: "report", messageId: msg.id },
        "aria-label": `Report message from ${displayName(msg.author)}`,
        onClick: () => {
          drafts.set(msg.id, "");
          rerender(msg);
          focusIn(msg, '[data-testid="report-reason"]');
        },
      },
      "Report",
    );
  }

  function thank(msg) {
    drafts.delete(msg.id);
    rerender(msg);
    const li = element(msg.id);
    const thanks = h("p", { class: "msg-note success", role: "status", dataset: { testid: "report-thanks" } },
      "Thank you. A counselor will take a look.");
    li?.appendChild(thanks);
    li?.focus();
  }

  function form(msg) {
    const reason = h("textarea", { rows: "2", maxlength: "500", dataset: { testid: "report-reason" } });
    reason.value = drafts.get(msg.id);
    reason.addEventListener("input", () => drafts.set(msg.id, reason.value));
    const status = h("p", { class: "form-error", role: "alert", dataset: { testid: "report-error" } });
    status.hidden = true;
    const submit = h("button", { type: "submit", class: "btn btn-small", dataset: { action: "submit-report", messageId: msg.id } }, "Send report");
    const cancel = h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-quiet",
        dataset: { action: "cancel-report" },
        onClick: () => {
          drafts.delete(msg.id);
          rerender(msg);
          focusIn(msg, '[data-action="report"]');
        },
      },
      "Cancel",
    );
    const el = h(
      "form",
      { class: "report-form", dataset: { testid: "report-form" } },
      field("What worries you about this message? (optional)", reason, "Only counselors see your report.").wrap,
      h("div", { class: "msg-actions" }, submit, cancel),
      status,
    );
    el.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      const payload = { message_id: msg.id };
      const r = reason.value.trim();
      if (r) payload.reason = r;
      try {
        await call("message:report", payload);
        thank(msg);
      } catch (err) {
        status.textContent = describeError(err);
        status.hidden = false;
        submit.disabled = false;
      }
    });
    return el;
  }

  return {
    /** The report button, or the open form with its draft. */
    control(msg) {
      return h("div", { class: "report" }, drafts.has(msg.id) ? form(msg) : openButton(msg));
    },
    reset() {
      drafts = new Map();
    },
  };
}
