// Small pieces shared by the staff administration screens.
import { h } from "../dom.js";

export const LANGUAGES = [["en", "English"], ["es", "Español"]];

export function input(type, testid, attrs = {}) {
  return h("input", { type, dataset: { testid }, ...attrs });
}

export function userLabel(u) {
  return `${u.display_name} (${u.username})${u.active === false ? " (inactive)" : ""}`;
}

/** The body's `timezone` from what staff typed: empty means the clinic's default
 * (null); else the IANA name as typed (the server refuses an unknown one). Pure. */
export function timeZoneValue(typed) {
  const zone = String(typed ?? "").trim();
  return zone === "" ? null : zone;
}

/** The browser's IANA zone names, for the time zone field's suggestions. */
function zoneNames() {
  try {
    return typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  } catch {
    return [];
  }
}

let zoneList = null;

/** A text field for a cohort's time zone (its check-ins' local day), suggesting IANA
 * names from one shared <datalist>; empty means the clinic's default (CLINIC_TZ). */
export function timeZoneInput(testid, value) {
  if (!zoneList || !zoneList.isConnected) {
    zoneList = h("datalist", { id: "iana-time-zones" }, zoneNames().map((z) => h("option", { value: z })));
    document.body.appendChild(zoneList);
  }
  return input("text", testid, {
    value: value || "", list: "iana-time-zones", maxlength: "64", placeholder: "Clinic default", autocomplete: "off",
    spellcheck: "false",
  });
}
