"""The staff safety report (issue 13, item 4): how fast flags are acknowledged, what raises
them, what is open now, help requests, and check-in completion per cohort.

Why it is computed here and not in the database: FerretDB (development and tests) scans
the collection for any filter not on `_id`, so the store reads the period's flags once,
with a projection (`ReportStore.flags_since`), and the check-in days once; the buckets,
percentiles and shares below are pure functions of those lists, unit-tested without a
database. At a clinic's scale (thousands of flags a quarter) that is a few milliseconds
of Python (`python -m bench.bench_safety_report` times it with 10,000 flags).

Minimum necessary (SECURITY.md H10): the report holds counts and seconds, cohort names
and ids; never message text, notes, names or ids of people. Weeks and days are UTC, like
the silence signal's days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from moderation import CATEGORIES
from server.actions.audit import record
from server.clock import iso, utcnow
from server.context import AppContext
from server.models import FLAG_SOURCES, CheckinDay, Cohort, FlagFacts, Origin, Principal

SEVERITIES = ("high", "medium", "low")
NO_CATEGORY = "none"
WEEK = timedelta(days=7)


# ---- weeks -------------------------------------------------------------------------------


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week that holds `moment`."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    day = moment.date() - timedelta(days=moment.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def period_weeks(now: datetime, weeks: int) -> list[datetime]:
    """The starts of the `weeks` weeks that end with the current (partial) one, oldest first."""
    current = week_start(now)
    return [current - WEEK * back for back in range(weeks - 1, -1, -1)]


def week_index(moment: datetime, starts: Sequence[datetime]) -> int | None:
    """Which of the period's weeks holds `moment`; None before the period. A moment after
    `now` (another process's clock a little ahead) counts in the current week."""
    if not starts or moment < starts[0]:
        return None
    return min(len(starts) - 1, int((moment - starts[0]) / WEEK))


# ---- percentiles -------------------------------------------------------------------------


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percent`% of the
    values at or below it. Chosen over interpolation because it is always a time that
    happened, and "p90 = 300" then means exactly "90% were acknowledged within 5 minutes"."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def ack_summary(waits: Iterable[float], waiting: int) -> dict[str, Any]:
    values = sorted(waits)
    p50, p90 = nearest_rank(values, 50), nearest_rank(values, 90)
    return {
        "acknowledged": len(values),
        "waiting": waiting,
        "p50_seconds": None if p50 is None else round(p50, 3),
        "p90_seconds": None if p90 is None else round(p90, 3),
    }


def ack_seconds(flag: FlagFacts) -> float | None:
    """Seconds from the flag to its first acknowledgement (never negative: two processes'
    clocks may differ by a little); None while nobody has acknowledged it."""
    if flag.acknowledged_at is None:
        return None
    return max(0.0, (flag.acknowledged_at - flag.created_at).total_seconds())


# ---- flags -------------------------------------------------------------------------------


def summarize_flags(flags: Iterable[FlagFacts], starts: Sequence[datetime]) -> dict[str, Any]:
    """Everything the report says about flags, from one pass over them.

    `flags` may include older flags that are still open or acknowledged: they count in
    `now` and `help_requests` (open now) only, never in the weekly figures."""
    n = len(starts)
    waits_by_week: list[list[float]] = [[] for _ in range(n)]
    waiting_by_week = [0] * n
    waits_by_severity: dict[str, list[float]] = {s: [] for s in SEVERITIES}
    waiting_by_severity = dict.fromkeys(SEVERITIES, 0)
    total = [0] * n
    by_source = {source: [0] * n for source in FLAG_SOURCES}
    by_category = {category: [0] * n for category in (*CATEGORIES, NO_CATEGORY)}
    help_by_week = [0] * n
    open_now, escalated_now = dict.fromkeys(SEVERITIES, 0), dict.fromkeys(SEVERITIES, 0)
    help_open = help_acknowledged = 0

    for flag in flags:
        if flag.status == "open":
            open_now[flag.severity] = open_now.get(flag.severity, 0) + 1
            if flag.escalation_level > 0:
                escalated_now[flag.severity] = escalated_now.get(flag.severity, 0) + 1
        if flag.source == "help_button":
            help_open += flag.status == "open"
            help_acknowledged += flag.status == "acknowledged"
        week = week_index(flag.created_at, starts)
        if week is None:
            continue
        total[week] += 1
        by_source.setdefault(flag.source, [0] * n)[week] += 1
        for category in set(flag.categories) or {NO_CATEGORY}:
            by_category.setdefault(category, [0] * n)[week] += 1
        if flag.source == "help_button":
            help_by_week[week] += 1
        wait = ack_seconds(flag)
        if wait is None:
            waiting_by_week[week] += 1
            waiting_by_severity[flag.severity] = waiting_by_severity.get(flag.severity, 0) + 1
        else:
            waits_by_week[week].append(wait)
            waits_by_severity.setdefault(flag.severity, []).append(wait)

    return {
        "ack": {
            "by_week": [ack_summary(waits_by_week[i], waiting_by_week[i]) for i in range(n)],
            "by_severity": {
                severity: ack_summary(waits_by_severity[severity], waiting_by_severity.get(severity, 0))
                for severity in waits_by_severity
            },
        },
        "flags": {"total": total, "by_source": by_source, "by_category": by_category},
        "now": {"open": open_now, "escalated": escalated_now},
        "help_requests": {"by_week": help_by_week, "open": help_open, "acknowledged": help_acknowledged},
    }


# ---- check-ins ---------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def checkin_completion(
    cohorts: Iterable[Cohort], checkins: Iterable[CheckinDay], first_day: date, last_day: date
) -> list[dict[str, Any]]:
    """Per cohort: its current patients, their patient-days in the period (clipped to the
    cohort's start and end dates when it has them), and the share of those with a check-in.

    A check-in counts for each cohort its patient belongs to now, whatever cohort it was
    tagged with when submitted: the question is "did this patient check in that day".
    Active cohorts come first, then by name."""
    days_by_patient: dict[Any, set[date]] = {}
    for checkin in checkins:
        day = _day(checkin.day)
        if day is not None:
            days_by_patient.setdefault(checkin.patient_id, set()).add(day)
    rows = []
    for cohort in sorted(cohorts, key=lambda c: (not c.active, c.name.casefold())):
        start = max(first_day, _day(cohort.start_date) or first_day)
        end = min(last_day, _day(cohort.end_date) or last_day)
        span = max(0, (end - start).days + 1)
        patients = set(cohort.member_ids)
        patient_days = span * len(patients)
        done = sum(1 for p in patients for d in days_by_patient.get(p, ()) if start <= d <= end)
        rows.append(
            {
                "cohort_id": str(cohort.id),
                "cohort_name": cohort.name,
                "active": cohort.active,
                "patients": len(patients),
                "patient_days": patient_days,
                "days_with_checkin": done,
                "completion": round(done / patient_days, 4) if patient_days else None,
            }
        )
    return rows


# ---- the report --------------------------------------------------------------------------


def build_report(
    now: datetime, weeks: int, flags: Iterable[FlagFacts], cohorts: Iterable[Cohort], checkins: Iterable[CheckinDay]
) -> dict[str, Any]:
    """The SafetyReport object of docs/protocol.md, from what the store read."""
    starts = period_weeks(now, weeks)
    first_day, last_day = starts[0].date(), now.astimezone(UTC).date()
    return {
        "generated_at": iso(now),
        "weeks": weeks,
        "week_starts": [start.date().isoformat() for start in starts],
        "period": {"start": iso(starts[0]), "end": iso(now)},
        **summarize_flags(flags, starts),
        "checkins": {
            "start_day": first_day.isoformat(),
            "end_day": last_day.isoformat(),
            "cohorts": checkin_completion(cohorts, checkins, first_day, last_day),
        },
    }


async def safety_report(
    ctx: AppContext, principal: Principal, weeks: int, origin: Origin, now: datetime | None = None
) -> dict[str, Any]:
    """Read, compute and audit the report (the caller checked that this is staff).

    Three reads: the period's flags (plus the unresolved older ones), the cohorts, the
    period's check-in days. The read is audited like other staff reads."""
    now = now or utcnow()
    starts = period_weeks(now, weeks)
    flags = await ctx.stores.reports.flags_since(starts[0])
    cohorts = await ctx.stores.cohorts.list()
    today = now.astimezone(UTC).date()
    checkins = await ctx.stores.reports.checkin_days(starts[0].date().isoformat(), today.isoformat())
    report = build_report(now, weeks, flags, cohorts, checkins)
    await record(ctx, "report.safety", principal, ("report", "safety"), origin, weeks=weeks)
    return report
