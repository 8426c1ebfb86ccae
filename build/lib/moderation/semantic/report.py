"""Figures on a labelled set for the lexicon alone, the model alone and the two combined.

recall_high_any: high messages flagged at any severity; recall_high_as_high: flagged as
high; recall_medium: medium messages flagged at medium or high; false_alarms: clean
("none") messages flagged at any severity; false_alerts: clean messages flagged medium
or high (low flags only queue, they page nobody). Each also by category and by language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..detection import Detection, severity_rank
from ..detector import scan
from .combine import combine
from .corpus import Example
from .detector import SemanticDetector

DETECTORS = ("lexicon", "model", "combined")


@dataclass(frozen=True)
class Figures:
    recall_high_any: float
    recall_high_as_high: float
    recall_medium: float
    false_alarms: float
    false_alerts: float  # clean messages flagged medium or high (the ones that alert a counselor)
    counts: tuple[int, int, int]  # high, medium, none

    def as_dict(self) -> dict[str, object]:
        return {
            "recall_high_any": round(self.recall_high_any, 4),
            "recall_high_as_high": round(self.recall_high_as_high, 4),
            "recall_medium": round(self.recall_medium, 4),
            "false_alarms": round(self.false_alarms, 4),
            "false_alerts": round(self.false_alerts, 4),
            "n_high_medium_none": list(self.counts),
        }


def figures(examples: Sequence[Example], verdicts: Sequence[Detection]) -> Figures:
    def share(pairs: list[tuple[Example, Detection]], hit: int) -> float:
        return sum(severity_rank(d.severity) >= hit for _, d in pairs) / len(pairs) if pairs else float("nan")

    pairs = list(zip(examples, verdicts, strict=True))
    high = [p for p in pairs if p[0].severity == "high"]
    medium = [p for p in pairs if p[0].severity == "medium"]
    clean = [p for p in pairs if p[0].severity == "none"]
    return Figures(
        share(high, severity_rank("low")),
        share(high, severity_rank("high")),
        share(medium, severity_rank("medium")),
        share(clean, severity_rank("low")),
        share(clean, severity_rank("medium")),
        (len(high), len(medium), len(clean)),
    )


def verdicts_by_detector(detector: SemanticDetector, examples: Sequence[Example]) -> dict[str, list[Detection]]:
    texts = [e.text for e in examples]
    lexical = [scan(t) for t in texts]
    scores = []
    for start in range(0, len(texts), 64):
        scores += detector.scores(texts[start : start + 64])
    nothing = Detection(None, (), (), "")
    return {
        "lexicon": lexical,
        "model": [combine(nothing, s) for s in scores],
        "combined": [combine(lex, s) for lex, s in zip(lexical, scores, strict=True)],
    }


def full_report(detector: SemanticDetector, examples: Sequence[Example]) -> dict[str, object]:
    verdicts = verdicts_by_detector(detector, examples)
    report: dict[str, object] = {}
    for name in DETECTORS:
        v = verdicts[name]
        by_category = {}
        for category in sorted({e.category for e in examples if e.category}):
            idx = [i for i, e in enumerate(examples) if e.category == category or e.severity == "none"]
            by_category[category] = figures([examples[i] for i in idx], [v[i] for i in idx]).as_dict()
        by_language = {}
        for lang in sorted({e.lang for e in examples}):
            idx = [i for i, e in enumerate(examples) if e.lang == lang]
            by_language[lang] = figures([examples[i] for i in idx], [v[i] for i in idx]).as_dict()
        report[name] = {
            "all": figures(examples, v).as_dict(),
            "by_category": by_category,
            "by_language": by_language,
        }
    return report


def summary_lines(report: dict[str, object]) -> list[str]:
    lines = [
        f"{'detector':<10} {'high(any)':>10} {'high(high)':>11} {'medium':>8} {'false alarms':>13} {'false alerts':>13}"
    ]
    for name in DETECTORS:
        f = report[name]["all"]  # type: ignore[index]
        lines.append(
            f"{name:<10} {f['recall_high_any']:>10.1%} {f['recall_high_as_high']:>11.1%} "
            f"{f['recall_medium']:>8.1%} {f['false_alarms']:>13.1%} {f['false_alerts']:>13.1%}"
        )
    return lines
