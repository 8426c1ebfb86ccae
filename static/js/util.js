// Small shared helpers that are not DOM-specific.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Random idempotency key: 22 chars of [A-Za-z0-9_-] (132 bits). */
export function newClientId() {
  const bytes = new Uint8Array(22);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}

export function displayName(user) {
  if (!user) return "Someone";
  return user.display_name || "Someone";
}

export const ROLE_LABEL = { patient: "Member", counselor: "Counselor", staff: "Staff" };

export const SEVERITY_RANK = { high: 3, medium: 2, low: 1 };

export const SEVERITY_LABEL = { high: "High", medium: "Medium", low: "Low" };

export const CATEGORY_LABEL = {
  suicide: "Suicide risk",
  self_harm: "Self-harm",
  overdose: "Overdose",
  medical: "Medical",
  harm_others: "Harm to others",
  abuse: "Abuse",
  relapse: "Relapse",
  harassment: "Harassment",
};

export const OUTCOMES = [
  ["false_positive", "False positive (not a crisis)"],
  ["supported_in_chat", "Supported in chat"],
  ["contacted_patient", "Contacted the patient"],
  ["emergency_services", "Emergency services called"],
  ["referred", "Referred for care"],
  ["other", "Other"],
];

export const OUTCOME_LABEL = Object.fromEntries(OUTCOMES);

export const FLAG_STATUS_LABEL = { open: "Open", acknowledged: "Acknowledged", resolved: "Resolved" };

export function categoryLabel(c) {
  return CATEGORY_LABEL[c] || String(c);
}
