"""Installed libraries are at or above the versions that fix known CVEs (SECURITY.md D1)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

FLOORS = {
    "aiohttp": (3, 14, 3),
    "python-engineio": (4, 13, 3),
    "python-socketio": (5, 16, 3),
    "PyJWT": (2, 13, 0),
    "pymongo": (4, 18, 1),
}


def parse(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


@pytest.mark.parametrize("package, floor", sorted(FLOORS.items()))
def test_installed_version_is_at_or_above_the_security_floor(package: str, floor: tuple[int, ...]) -> None:
    assert parse(version(package)) >= floor, f"{package} {version(package)} is below {'.'.join(map(str, floor))}"
