"""Measure the detector against a labelled JSONL set (a developer tool, not for logs).

Each line: ``{"id", "text", "expected": "high"|"medium"|"low"|"none", "kind", "lang"}``.
Recall at a tier counts a message as recalled when it is detected at that tier *or
higher* (a "medium" message flagged "high" is recalled). The false-alarm rate is the
share of "none" messages flagged at any severity. Thresholds encode the product rule
that a missed crisis costs more than a false alarm: every high must be caught.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .detection import SEVERITIES, Detection, severity_rank
from .detector import scan as default_scan

#: Minimum recall per expected tier, and the maximum false-alarm rate on clean messages.
THRESHOLDS: dict[str, float] = {"high": 1.0, "medium": 0.90}
MAX_FALSE_ALARM_RATE = 0.03
LABELS: tuple[str, ...] = (*SEVERITIES, "none")


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    text: str
    expected: str
    kind: str
    lang: str


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    detected: str | None
    terms: tuple[str, ...]

    @property
    def recalled(self) -> bool:
        return severity_rank(self.detected) >= severity_rank(self.case.expected)

    @property
    def false_alarm(self) -> bool:
        return self.case.expected == "none" and self.detected is not None


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome]
    recall: dict[str, float] = field(default_factory=dict)
    false_alarm_rate: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def misses(self) -> list[Outcome]:
        """Positives detected below their tier, and clean messages that were flagged."""
        return [o for o in self.outcomes if (o.case.expected != "none" and not o.recalled) or o.false_alarm]


def load_cases(path: str | Path) -> list[Case]:
    """Read and check the JSONL set; a bad line names its line number."""
    cases = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                case = Case(str(row["id"]), row["text"], row["expected"], row.get("kind", ""), row.get("lang", "en"))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad eval line: {exc}") from exc
            if case.expected not in LABELS:
                raise ValueError(f"{path}:{number}: expected must be one of {LABELS}")
            if case.id in seen:
                raise ValueError(f"{path}:{number}: duplicate id {case.id!r}")
            seen.add(case.id)
            cases.append(case)
    return cases


def evaluate(cases: list[Case], scan: Callable[[str], Detection] = default_scan) -> Report:
    """Scan every case and compute recall per tier, false alarms and threshold failures."""
    outcomes = []
    for case in cases:
        detection = scan(case.text)
        outcomes.append(Outcome(case, detection.severity, tuple(m.term for m in detection.matches)))
    report = Report(outcomes)
    report.counts = Counter(o.case.expected for o in outcomes)
    report.languages = Counter(o.case.lang for o in outcomes)
    for tier in SEVERITIES:
        group = [o for o in outcomes if o.case.expected == tier]
        if group:
            report.recall[tier] = sum(o.recalled for o in group) / len(group)
    clean = [o for o in outcomes if o.case.expected == "none"]
    report.false_alarm_rate = sum(o.false_alarm for o in clean) / len(clean) if clean else 0.0
    for tier, minimum in THRESHOLDS.items():
        if report.recall.get(tier, 1.0) < minimum:
            report.failures.append(f"recall {tier} {report.recall[tier]:.1%} < {minimum:.0%}")
    if report.false_alarm_rate > MAX_FALSE_ALARM_RATE:
        report.failures.append(f"false alarms {report.false_alarm_rate:.1%} > {MAX_FALSE_ALARM_RATE:.0%}")
    return report


def format_report(report: Report) -> str:
    """Human-readable summary; prints eval texts, which is fine for a labelled dev set."""
    lines = [
        "set: "
        + ", ".join(f"{label} {report.counts.get(label, 0)}" for label in LABELS)
        + f" (total {len(report.outcomes)}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.languages.items()))
        + ")",
    ]
    for tier in reversed(SEVERITIES):
        if tier in report.recall:
            n = report.counts[tier]
            lines.append(f"recall {tier:<6} {report.recall[tier]:7.1%}  ({round(report.recall[tier] * n)}/{n})")
    clean = report.counts.get("none", 0)
    lines.append(
        f"false alarms on clean {report.false_alarm_rate:.1%}  ({round(report.false_alarm_rate * clean)}/{clean})"
    )
    misses = report.misses()
    if misses:
        lines.append(f"misses ({len(misses)}):")
        for o in misses:
            lines.append(
                f"  {o.case.id:<10} expected {o.case.expected:<6} got {o.detected or 'none':<6} "
                f"[{o.case.kind}] {o.case.text!r} {list(o.terms) if o.terms else ''}"
            )
    lines.append("PASS" if report.passed else "FAIL: " + "; ".join(report.failures))
    return "\n".join(lines)
