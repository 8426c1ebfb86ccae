// Small pieces shared by the staff administration screens.
import { h } from "../dom.js";

export const LANGUAGES = [["en", "English"], ["es", "Español"]];

export function input(type, testid, attrs = {}) {
  return h("input", { type, dataset: { testid }, ...attrs });
}

export function userLabel(u) {
  return `${u.display_name} (${u.username})${u.active === false ? " (inactive)" : ""}`;
}
