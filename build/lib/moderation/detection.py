"""What the detector reports: frozen value objects the server can store and show.

A :class:`Detection` is explainable on purpose (PRODUCT.md, "What must be true" 2):
every flag carries the lexicon term that fired, its category and severity, and the
span of the original text, so a counselor sees *why* a message was flagged and staff
can see which terms misfire.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Severity tiers, lowest first. The clinical meaning of each tier is in POLICY.md.
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

#: The only categories a lexicon entry may carry.
CATEGORIES: tuple[str, ...] = (
    "suicide",
    "self_harm",
    "overdose",
    "medical",
    "harm_others",
    "abuse",
    "relapse",
    "harassment",
)

_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


def severity_rank(severity: str | None) -> int:
    """Order severities so they can be compared; ``None`` (no flag) ranks lowest."""
    if severity is None:
        return -1
    return _RANK[severity]


def lower_severity(severity: str, floor: str = "low") -> str:
    """One tier down, never below ``floor``: context may soften a flag, not erase it."""
    rank = max(_RANK[severity] - 1, _RANK[floor])
    return SEVERITIES[rank]


@dataclass(frozen=True, slots=True)
class Match:
    """One lexicon hit.

    ``term`` is the canonical lexicon phrase that matched (an entry's term, or the one
    alternative of a patterned entry, e.g. "going to kill myself"), never the user's
    spelling; staff can list it under ``disable`` in an override to silence it. ``start``/``end``
    index the ORIGINAL text: ``text[start:end]`` is what the user typed, obfuscation
    included ("s.u.i.c.i.d.e", "k1ll mys3lf").
    """

    term: str
    category: str
    severity: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Detection:
    """The verdict for one message; ``severity`` is the highest of its matches.

    ``source`` is "lexicon" when a lexicon term fired (the matches say which), "model"
    when only the semantic model flagged it (no term; ``score`` is the model's
    probability that the message is of medium or high risk). ``score`` is also set on a
    lexicon verdict that the model scored, for the record.
    """

    severity: str | None
    categories: tuple[str, ...]
    matches: tuple[Match, ...]
    lexicon_version: str
    source: str = "lexicon"
    score: float | None = None
    model_version: str | None = None

    @property
    def flagged(self) -> bool:
        return self.severity is not None

    @classmethod
    def from_matches(cls, matches: tuple[Match, ...], lexicon_version: str) -> Detection:
        """Build the verdict so severity and categories can never disagree with matches."""
        if not matches:
            return cls(None, (), (), lexicon_version)
        severity = max((m.severity for m in matches), key=severity_rank)
        categories = tuple(sorted({m.category for m in matches}))
        return cls(severity, categories, matches, lexicon_version)
