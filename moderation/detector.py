"""scan(text) -> Detection: one Aho-Corasick pass over the normalised message.

Pure and synchronous: no I/O, no logging, no awaits, nothing shared that changes. The
default lexicon is loaded once at import; a broken lexicon file fails the import (and so
the server's start) loudly rather than running without detection.
"""

from __future__ import annotations

from .context import LAUGHING_EMOJI, Cues, assess
from .detection import Detection, Match, severity_rank
from .lexicon import CUE, SAFE, Entry, Lexicon, load_lexicon
from .normalize import Normalized, variants

_Hit = tuple[int, str, int, int]  # entry index, lexicon phrase, start, end (normalised coordinates)


class Detector:
    """Scans messages against one compiled :class:`Lexicon`; safe to share everywhere."""

    __slots__ = ("_lexicon", "_nothing")

    def __init__(self, lexicon: Lexicon) -> None:
        self._lexicon = lexicon
        self._nothing = Detection(None, (), (), lexicon.version)  # immutable, so shared

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    def scan(self, text: str) -> Detection:
        """Detect crisis language in ``text``; never raises on any ``str``."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        found: dict[tuple[str, int, int], Match] = {}
        for norm in variants(text):
            for match in self._scan_variant(text, norm) if norm.text else ():
                key = (match.term, match.start, match.end)
                kept = found.get(key)
                if kept is None or severity_rank(match.severity) > severity_rank(kept.severity):
                    found[key] = match
        if not found:
            return self._nothing
        return Detection.from_matches(_prune(list(found.values())), self._lexicon.version)

    def _scan_variant(self, text: str, norm: Normalized) -> list[Match]:
        padded = " " + norm.text + " "
        hits: list[_Hit] = []
        for last, (length, whole_word, payloads) in self._lexicon.automaton.iter(padded):
            start, end = _span(norm.text, last, length, whole_word)
            for _, (index, phrase) in payloads:
                hits.append((index, phrase, start, end))
        if not hits:
            return []  # the common case: nothing to explain, no context to read
        cues = Cues(laughing_emoji=any(e in text for e in LAUGHING_EMOJI))
        for last, (length, whole_word, payloads) in self._lexicon.context_automaton.iter(padded):
            start, end = _span(norm.text, last, length, whole_word)
            for kind, ref in payloads:
                if kind == CUE:
                    cues.spans.setdefault(ref, []).append((start, end))
                elif kind == SAFE:
                    cues.safe.append((start, end))
        entries = self._lexicon.entries
        verdicts = [assess(entries[index], norm.text, start, end, cues) for index, _, start, end in hits]
        matches = []
        for i, (index, phrase, start, end) in enumerate(hits):
            entry = entries[index]
            severity = _inherit(i, hits, verdicts, entries)
            if severity is None:
                continue
            o_start, o_end = norm.original_span(start, end)
            matches.append(Match(phrase, entry.category, severity, o_start, o_end))
        return matches


def _span(norm: str, last: int, length: int, whole_word: bool) -> tuple[int, int]:
    """Normalised [start, end) of a key found ending at padded index ``last``.

    Keys carry a leading space (and a trailing one unless they are prefixes), and the
    text is padded with one space each side, so padded index i is normalised index i-1.
    """
    start = last - length + 1
    return start, (last - 1 if whole_word else _word_end(norm, last))


def _inherit(i: int, hits: list[_Hit], verdicts: list[str | None], entries: tuple[Entry, ...]) -> str | None:
    """A phrase inside a longer, at-least-as-serious phrase shares that phrase's context.

    "years ago i tried to kill myself, today i'm grateful": the past-tense "tried to
    kill myself" is the reading that applies, so the "kill myself" inside it must not
    fire on its own. Only softening is inherited, never escalation.
    """
    index, _, start, end = hits[i]
    entry = entries[index]
    verdict = verdicts[i]
    for j, (other, _, o_start, o_end) in enumerate(hits):
        container = entries[other]
        if (
            j != i
            and o_start <= start
            and end <= o_end
            and (o_end - o_start) > (end - start)
            and container.category == entry.category
            and severity_rank(container.severity) >= severity_rank(entry.severity)
            and severity_rank(verdicts[j]) < severity_rank(verdict)
        ):
            verdict = verdicts[j]
    return verdict


def _word_end(norm: str, pos: int) -> int:
    """A prefix key ("suicid*") covers the rest of the word the user typed."""
    space = norm.find(" ", pos)
    return len(norm) if space == -1 else space


def _prune(matches: list[Match]) -> tuple[Match, ...]:
    """Drop a hit inside a longer hit of the same category that is at least as severe.

    "i want to kill myself" hits both "want to kill myself" and "kill myself"; one
    explanation is enough. A contained hit that is *more* severe is kept.
    """
    kept = []
    for m in matches:
        covered = any(
            o is not m
            and o.category == m.category
            and o.start <= m.start
            and m.end <= o.end
            and (o.end - o.start) > (m.end - m.start)
            and severity_rank(o.severity) >= severity_rank(m.severity)
            for o in matches
        )
        if not covered:
            kept.append(m)
    kept.sort(key=lambda m: (m.start, m.end, m.term))
    return tuple(kept)


DEFAULT_LEXICON: Lexicon = load_lexicon()
LEXICON_VERSION: str = DEFAULT_LEXICON.version
_DEFAULT = Detector(DEFAULT_LEXICON)


def scan(text: str) -> Detection:
    """Scan ``text`` with the default, repository-versioned lexicon."""
    return _DEFAULT.scan(text)
