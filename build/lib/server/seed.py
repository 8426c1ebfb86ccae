"""Demo data (development only) and the bootstrap staff account.

The demo's passwords are published in the README, which is why production refuses
SEED_DEMO=1 (server/config.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


async def seed_demo(stores: Stores) -> list[DemoLogin]:
    """Create the demo cohort, rooms and accounts; idempotent (skips what exists)."""
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
    return list(DEMO_LOGINS)


async def bootstrap_staff(stores: Stores, username: str, password: str) -> bool:
    """Create the first staff account if there is no staff account yet."""
    if await stores.users.any_staff():
        return False
    await stores.users.create(
        username=username, display_name="Clinic staff", role="staff", password_hash=await hash_password(password)
    )
    log.info("created the bootstrap staff account")
    return True
