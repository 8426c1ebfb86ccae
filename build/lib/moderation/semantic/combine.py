"""One verdict from the lexicon and the model: pure rules, unit-tested.

- The lexicon's verdict is never weakened: its matches, categories and severity stand.
- The model may raise it: a message the model scores as high is high even when only a
  low-tier term fired (a craving word next to a plan).
- The model alone may flag a message no term matched, at medium or high, with its
  category and score and no term (``source: "model"``).
- Low is the lexicon's tier only: the model does not raise watch-only flags.
"""

from __future__ import annotations

import dataclasses

from ..detection import Detection, severity_rank
from .model import ModelScore


def combine(lexical: Detection, score: ModelScore | None, model_version: str | None = None) -> Detection:
    if score is None:
        return lexical
    if lexical.flagged:
        assert lexical.severity is not None
        severity = lexical.severity
        categories = lexical.categories
        if score.severity is not None and severity_rank(score.severity) > severity_rank(severity):
            severity = score.severity
            categories = tuple(sorted({*categories, score.category}))
        return dataclasses.replace(
            lexical, severity=severity, categories=categories, score=round(score.risk, 4), model_version=model_version
        )
    if score.severity is None:
        return lexical
    return Detection(
        score.severity,
        (score.category,),
        (),
        lexical.lexicon_version,
        source="model",
        score=round(score.risk, 4),
        model_version=model_version,
    )


def strongest(verdicts: list[Detection]) -> Detection:
    """The most severe of several verdicts on one message (alone, and with its context)."""
    return max(verdicts, key=lambda d: (severity_rank(d.severity), d.source == "lexicon", d.score or 0.0))
