"""Demo data (development only) and the bootstrap staff account.

The demo's passwords are published in the README, which is why production refuses
SEED_DEMO=1 (server/config.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bson import ObjectId

from server.clock import local_day, utcnow, zone
from server.models import Checkin
from server.passwords import hash_password
from server.store import Stores

log = logging.getLogger(__name__)

DEMO_COHORT = "Evening IOP — Group B"
DEMO_ROOMS = ("Group chat", "Check-ins")
DEMO_PASSWORD = "recovery-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: str


DEMO_LOGINS = (
    DemoLogin("river", "River", "patient"),
    DemoLogin("sky", "Sky", "patient"),
    DemoLogin("sol", "Sol", "patient"),
    DemoLogin("counselor.ana", "Ana (counselor)", "counselor"),
    DemoLogin("staff.lee", "Lee (staff)", "staff"),
)


# Two weeks of (mood, craving) check-ins, oldest first and ending yesterday, so that the
# counselor's Check-ins screen and the staff Safety dashboard show something in a demo:
# River steady, Sky sliding (the "trending down" mark), Sol none (not checked in). None
# today: the demo patients can do today's themselves.
DEMO_CHECKINS: dict[str, list[tuple[int, int] | None]] = {
    "river": [(4, 3), (4, 2), None, (3, 4), (4, 3), (4, 2), (5, 1), (4, 2), None, (4, 3), (4, 2), (5, 1), (4, 2)],
    "sky": [(4, 2), (4, 3), (5, 2), (4, 2), (4, 3), None, (4, 3), (3, 5), (3, 6), (2, 6), None, (2, 7), (2, 7)],
}


async def seed_demo(stores: Stores, *, timezone: str = "UTC", now: datetime | None = None) -> list[DemoLogin]:
    """Create the demo cohort, rooms, accounts and past check-ins; idempotent (skips what
    exists). `timezone`: the clinic's (CLINIC_TZ), whose days the check-ins fall on."""
    cohort = next((c for c in await stores.cohorts.list() if c.name == DEMO_COHORT), None)
    if cohort is None:
        cohort = await stores.cohorts.create(
            {
                "name": DEMO_COHORT,
                "program": "IOP",
                "schedule": "Mon/Wed/Thu 6-9pm",
                "start_date": None,
                "end_date": None,
            }
        )
        for name in DEMO_ROOMS:
            await stores.rooms.create(cohort.id, cohort.name, name)
    password_hash = await hash_password(DEMO_PASSWORD)
    for login in DEMO_LOGINS:
        user = await stores.users.by_username(login.username)
        if user is None:
            user = await stores.users.create(
                username=login.username, display_name=login.display_name, role=login.role, password_hash=password_hash
            )
        if login.role in ("patient", "counselor"):
            field = "member_ids" if login.role == "patient" else "counselor_ids"
            await stores.cohorts.set_membership(cohort.id, field, user.id, True)
        if login.username in DEMO_CHECKINS:
            await _demo_checkins(stores, user.id, cohort.id, DEMO_CHECKINS[login.username], timezone, now or utcnow())
    return list(DEMO_LOGINS)


async def _demo_checkins(
    stores: Stores,
    patient_id: ObjectId,
    cohort_id: ObjectId,
    series: list[tuple[int, int] | None],
    tz: str,
    now: datetime,
) -> None:
    today = local_day(now, tz)
    days = [today - timedelta(days=len(series) - i) for i in range(len(series))]
    if await stores.checkins.series(patient_id, days):
        return  # seeded before, or the patient's own: never overwritten
    for day, answer in zip(days, series, strict=True):
        if answer is not None:
            at = datetime.combine(day, time(19, 30), zone(tz))  # an evening check-in
            await stores.checkins.put(Checkin(patient_id, cohort_id, day.isoformat(), *answer, None, at))


async def bootstrap_staff(stores: Stores, username: str, password: str) -> bool:
    """Create the first staff account if there is no staff account yet."""
    if await stores.users.any_staff():
        return False
    await stores.users.create(
        username=username, display_name="Clinic staff", role="staff", password_hash=await hash_password(password)
    )
    log.info("created the bootstrap staff account")
    return True
