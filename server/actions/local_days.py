"""local_days: which calendar day a moment falls on for a cohort.

Check-ins and the silence signal count days as the patients live them: someone in Chicago
checking in at 9 pm, or writing to the group then, must not land on tomorrow's UTC date.
A cohort may have its own IANA `timezone` (set by staff); otherwise the clinic's
`CLINIC_TZ` applies.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from bson import ObjectId

from server.clock import UnknownTimezone, local_day, zone
from server.config import Config
from server.context import AppContext
from server.models import Cohort

log = logging.getLogger(__name__)


def timezone_of(config: Config, cohort: Cohort) -> str:
    """The cohort's time zone, else the clinic's (a stored name this machine does not know
    is logged and replaced by the clinic's, rather than refusing the check-in)."""
    return _valid(config, cohort.id, cohort.timezone)


def activity_day(ctx: AppContext, cohort_id: ObjectId, moment: datetime) -> date:
    """The cohort's local day of `moment`, from the membership snapshot (no read: this
    runs on the send path)."""
    return local_day(moment, _valid(ctx.config, cohort_id, ctx.stores.cohorts.known_timezone(cohort_id)))


def _valid(config: Config, cohort_id: ObjectId, timezone: str | None) -> str:
    if timezone:
        try:
            zone(timezone)
            return timezone
        except UnknownTimezone:
            log.warning("cohort %s has an unknown time zone; using CLINIC_TZ", cohort_id)
    return config.clinic_tz
