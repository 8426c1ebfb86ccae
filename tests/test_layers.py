"""The architecture as a table of import rules, checked on every module's imports.

Edges (`wire/`, `http/`) depend on use cases (`actions/`), which depend on storage
(`store/`) and fan-out (`realtime/`), never upward; only `store/` talks to pymongo;
`moderation/` is pure and used only through its public names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (who, what they may not import, except these exact modules)
RULES = [
    ("server", "pymongo", ()),  # checked for every module outside server/store/ below
    ("server.wire", "server.store", ("server.store.failures",)),
    ("server.http", "server.store", ("server.store.failures",)),
    ("server.actions", "server.http", ()),
    ("server.actions", "server.wire.sockets", ()),
    ("server.store", "server.actions", ()),
    ("server.store", "server.wire", ()),
    ("server.store", "server.http", ()),
    ("server.store", "server.realtime", ()),
    ("server.realtime", "server.http", ()),
    ("server.realtime", "server.wire.sockets", ()),
    ("moderation", "server", ()),
]
MODERATION_PUBLIC_ENTRY = "moderation"  # server code imports `moderation`, not its modules


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("server", "moderation"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations() -> list[str]:
    found = []
    for module, path in modules():
        imported = imports_of(path)
        for who, banned, allowed in RULES:
            if not under(module, who):
                continue
            if banned == "pymongo" and under(module, "server.store"):
                continue
            for name in imported:
                if under(name, banned) and not any(under(name, a) for a in allowed):
                    found.append(f"{module} imports {name} ({who} may not import {banned})")
        if under(module, "server"):
            for name in imported:
                if name.startswith("moderation.") and name.split(".")[1] not in PUBLIC_MODERATION:
                    found.append(f"{module} imports {name} (use moderation's public names)")
    return sorted(set(found))


def public_moderation() -> set[str]:
    tree = ast.parse((ROOT / "moderation" / "__init__.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            names.update(ast.literal_eval(node.value))
        if isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


PUBLIC_MODERATION = public_moderation()


def test_every_module_keeps_to_its_layer() -> None:
    assert violations() == []


@pytest.mark.parametrize("package", ["server.wire", "server.http", "server.actions", "server.realtime", "server.store"])
def test_each_layer_says_what_lives_there(package: str) -> None:
    init = ROOT / package.replace(".", "/") / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"{init} needs a docstring saying what lives there and what it may import"


def test_the_rule_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from pymongo.errors import PyMongoError\nfrom server.store.users import UserStore\n")
    assert {"pymongo.errors", "server.store.users"} <= imports_of(bad)
