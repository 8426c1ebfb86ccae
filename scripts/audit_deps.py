"""Dependency audit for `make test`: pip-audit over the virtualenv and npm audit over
node_modules. A known vulnerability fails the run; an advisory service that cannot be
reached (offline clinic, closed CI network) prints a warning and does not, because then
nothing is known either way and the run should say so rather than block every change.

    python scripts/audit_deps.py          # both
    python scripts/audit_deps.py --pip    # one

The judging functions are pure (tests/test_audit_deps.py feeds them the tools' JSON).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIP_AUDIT_TIMEOUT = 300
NPM_AUDIT_TIMEOUT = 120


@dataclass(frozen=True)
class Verdict:
    tool: str
    failed: bool  # a known vulnerability
    lines: list[str] = field(default_factory=list)  # what to print
    unreachable: bool = False  # nothing could be checked


def judge_pip_audit(report: dict[str, Any] | None, stderr: str = "") -> Verdict:
    """pip-audit's `--format json` report (None when it printed none, e.g. on a network error)."""
    if report is None:
        why = stderr.strip().splitlines()[-1] if stderr.strip() else "no report"
        return Verdict("pip-audit", False, [f"WARNING: pip-audit could not run an audit ({why})"], unreachable=True)
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    if vulnerable:
        lines = [f"pip-audit: {len(vulnerable)} vulnerable package(s):"]
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                lines.append(f"  {dep['name']} {dep.get('version', '?')}: {vuln.get('id', '?')} (fixed in: {fixes})")
        return Verdict("pip-audit", True, lines)
    if audited == 0:
        return Verdict(
            "pip-audit",
            False,
            [f"WARNING: pip-audit reached no advisory data; {len(skipped)} package(s) NOT audited (offline?)"],
            unreachable=True,
        )
    lines = [f"pip-audit: {audited} package(s) audited, no known vulnerability"]
    if skipped:
        lines.append(f"WARNING: pip-audit skipped {len(skipped)}: " + ", ".join(d["name"] for d in skipped))
    return Verdict("pip-audit", False, lines)


def judge_npm_audit(report: dict[str, Any] | None) -> Verdict:
    """`npm audit --json`: a report with metadata.vulnerabilities, or an error object."""
    counts = ((report or {}).get("metadata") or {}).get("vulnerabilities")
    if not isinstance(counts, dict):
        why = (report or {}).get("message") or (report or {}).get("error") or "no report"
        if isinstance(why, dict):
            why = why.get("summary") or why.get("code") or "error"
        return Verdict("npm audit", False, [f"WARNING: npm audit could not reach its advisory service ({why})"], True)
    total = int(counts.get("total", sum(v for k, v in counts.items() if k != "total")))
    if total:
        lines = [f"npm audit: {total} known vulnerabilit{'y' if total == 1 else 'ies'}:"]
        for name, item in sorted((report or {}).get("vulnerabilities", {}).items()):
            lines.append(f"  {name}: {item.get('severity', '?')} (fix available: {bool(item.get('fixAvailable'))})")
        return Verdict("npm audit", True, lines)
    return Verdict("npm audit", False, ["npm audit: no known vulnerability"])


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run_pip_audit() -> Verdict:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"],
            capture_output=True,
            text=True,
            timeout=PIP_AUDIT_TIMEOUT,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return judge_pip_audit(None, "timed out")
    return judge_pip_audit(_json(done.stdout), done.stderr)


def run_npm_audit() -> Verdict:
    try:
        done = subprocess.run(
            ["npm", "audit", "--json"], capture_output=True, text=True, timeout=NPM_AUDIT_TIMEOUT, cwd=ROOT
        )
    except (subprocess.TimeoutExpired, FileNotFoundError) as exc:
        return judge_npm_audit({"message": type(exc).__name__})
    return judge_npm_audit(_json(done.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pip", action="store_true", help="only pip-audit")
    parser.add_argument("--npm", action="store_true", help="only npm audit")
    args = parser.parse_args()
    verdicts = []
    if args.pip or not args.npm:
        verdicts.append(run_pip_audit())
    if args.npm or not args.pip:
        verdicts.append(run_npm_audit())
    for verdict in verdicts:
        print("\n".join(verdict.lines), file=sys.stderr if verdict.failed or verdict.unreachable else sys.stdout)
    return 1 if any(v.failed for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
