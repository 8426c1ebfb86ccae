// What the help request part of the crisis panel tells the patient. Pure: unit-tested under node.

/** The status line under "Ask a counselor to reach out to me now". */
export function helpStatusText(state) {
  if (!state) return "";
  if (state.state === "sending") return "Sending your request…";
  if (state.state === "failed") return `Your request could not be sent. ${state.error || ""} Please call or text 988, or call 911 if you are in danger.`.trim();
  if (state.state === "acknowledged") return `${state.by || "A counselor"} has seen your request and will reach out to you.`;
  if (state.onCall === false) {
    return "Your request was sent, but no counselor is on call right now. The clinic will see it; if you are in danger, please call or text 988, or call 911, now.";
  }
  return "Your request was sent. A counselor has been alerted and will reach out to you soon.";
}
