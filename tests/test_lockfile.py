"""requirements.lock, the hashed lock that `make setup` installs from, follows pyproject.toml:
a dependency added or re-pinned there without `make lock` fails here, not in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def _locked() -> dict[str, list[str]]:
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PIN.match(line):
            pins.setdefault(canonicalize_name(match[1]), []).append(match[2])
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_declared_dependency_is_locked_at_a_version_it_allows() -> None:
    locked = _locked()
    for requirement in _declared():
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements.lock has {requirement.name}=={version}, pyproject.toml wants {requirement.specifier}: "
                "run `make lock`"
            )


def test_every_locked_package_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    assert len(blocks) > 20
    for block in blocks:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
