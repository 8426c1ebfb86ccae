"""Context that may soften a lexicon hit: negation, resolved past, humour, quoting.

The rules, and why they are shaped this way, are in POLICY.md. The short version: a
missed crisis costs far more than a false alarm, so context can *lower* a severity by
one tier and can silence only low-information hits (a bare topic word in a message
about resources, a past-tense disclosure inside a clearly resolved recovery story,
a phrase inside a known safe phrase). A ``pinned`` means+intent hit is never silenced.

Cue phrases themselves are data (``cues`` in the lexicon file); the small closed word
lists below are grammar, not vocabulary, so they live in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .detection import lower_severity
from .lexicon import Entry

# Words that may sit between a negation and the phrase it negates:
# "not [going to] kill myself", "never [really] wanted to die", "no [me] voy a matar".
CONNECTORS: frozenset[str] = frozenset(
    "i im am be going gonna to want wanna ever really actually even thinking about of planning plan "
    "trying try feeling feel that so like a an the do would will ever have any "
    "me yo voy va vamos a quiero pienso en lo la estoy intentar de nada".split()
)  # fmt: skip

# First-person words: a phrase containing one is about the writer, not a quote or a "you".
FIRST_PERSON: frozenset[str] = frozenset(
    "i im ive id ill me my myself mine yo me mi mis conmigo estoy quiero voy tengo".split()
)

# Laughing emoji are lost by normalisation (they are not letters), so look at the original.
LAUGHING_EMOJI: tuple[str, ...] = ("😂", "🤣", "💀", "😆", "😹")

NEGATION_WINDOW_TOKENS = 3
CONDITIONAL_WINDOW_TOKENS = 6


@dataclass(slots=True)
class Cues:
    """Where the context cues of one normalised message are (spans in normalised text)."""

    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    safe: list[tuple[int, int]] = field(default_factory=list)
    laughing_emoji: bool = False

    def has(self, kind: str) -> bool:
        return bool(self.spans.get(kind))


def _negated(norm: str, start: int, negations: list[tuple[int, int]]) -> bool:
    """A negation governs the hit if only connector words stand between them."""
    for _, neg_end in negations:
        if neg_end <= start:
            between = norm[neg_end:start].split()
            if len(between) <= NEGATION_WINDOW_TOKENS and all(t in CONNECTORS for t in between):
                return True
    return False


def _conditional(norm: str, start: int, end: int, conditionals: list[tuple[int, int]]) -> bool:
    """ "If you ever feel suicidal, call 988": a hit about *someone else*, said conditionally."""
    if FIRST_PERSON.intersection(norm[start:end].split()):
        return False
    for _, cond_end in conditionals:
        if cond_end <= start and len(norm[cond_end:start].split()) <= CONDITIONAL_WINDOW_TOKENS:
            return True
    return False


def _last_word(norm: str, start: int, end: int) -> int:
    return max(start, norm.rfind(" ", start, end) + 1)


def assess(entry: Entry, norm: str, start: int, end: int, cues: Cues) -> str | None:
    """The severity this hit deserves in its context, or ``None`` to stay quiet.

    :param entry: the lexicon entry that matched.
    :param norm: the normalised message; ``start``/``end`` index it.
    :param cues: the context cues found in the same message.
    """
    severity = entry.severity
    if any(a <= _last_word(norm, start, end) and end <= b for a, b in cues.safe):
        # The phrase ends inside a safe phrase that re-reads it: "suicide prevention",
        # "if you ever feel suicidal", "going to score some concert tickets".
        if not entry.pinned:
            return None
        severity = "low"
    if _conditional(norm, start, end, cues.spans.get("conditional", [])):
        if not entry.pinned:
            return None
        severity = "low"
    if entry.topic and cues.has("resource"):
        return None  # "suicide prevention training", "the overdose talk at group"
    if entry.tense == "past" and cues.has("past") and cues.has("resolved"):
        if not entry.pinned:
            return None  # "two years ago I wanted to die, today I'm grateful"
        severity = "low"
    if _negated(norm, start, cues.spans.get("negation", [])):
        severity = lower_severity(severity)
    if not entry.pinned and (cues.has("humor") or cues.laughing_emoji):
        severity = lower_severity(severity)
    return severity
