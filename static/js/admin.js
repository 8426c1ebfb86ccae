// Staff administration, one module per screen under admin/: kept as the entry main.js imports.
export { renderCohorts } from "./admin/cohorts.js";
export { renderUsers } from "./admin/users.js";
