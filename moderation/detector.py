"""scan(text) -> Detection: one Aho-Corasick pass over the normalised message.

Clean messages, the common case, take a fast path: :func:`~moderation.normalize.quick_form`
builds the normalised text with a few C-level calls (no offsets), and one automaton pass
that finds no key returns the shared "nothing" verdict. Any hit, and any message that is
not simple (spaced letters, leetspeak, characters that fold to several or none), goes
through the full pipeline with offset maps and context rules, exactly as before.

Pure and synchronous: no I/O, no logging, no awaits, nothing shared that changes. The
default lexicon is loaded once at import; a broken lexicon file fails the import (and so
the server's start) loudly rather than running without detection.
"""

from __future__ import annotations

import re

from .context import LAUGHING_EMOJI, Cues, assess
from .detection import Detection, Match, severity_rank
from .lexicon import CUE, SAFE, Entry, Lexicon, load_lexicon
from .normalize import LETTER_RUNS, Normalized, quick_form, squeeze_runs, variants

_LETTER_RUN = re.compile("|".join(LETTER_RUNS))  # the runs quick_form leaves unsqueezed
_Hit = tuple[int, str, int, int]  # entry index, lexicon phrase, start, end (normalised coordinates)
_Verdict = tuple[int, str, int, int, str]  # the same plus the severity context leaves it


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
        if text.__class__ is not str:
            text = "" if text is None else str(text)
        quick = quick_form(text)
        if quick is None:
            return self._scan_full(text)  # spaced letters, leetspeak, invisible characters...
        # The clean-message filter: any entry key, or a run of three equal letters (which
        # step 5 squeezes). A second automaton of the keys plus the runs did this in one
        # pass but cost as much memory as the lexicon's own (~28 MB): the entry automaton
        # stops at its first key, and a regex finds the runs, both in C.
        runs = _LETTER_RUN.search(quick) is not None
        if not runs and next(self._lexicon.automaton.iter(" " + quick + " "), None) is None:
            return self._nothing  # the common case: no key, no context
        if runs:
            # "sooo": step 5 squeezes runs, and squeezing commutes with the separator step,
            # so the squeezed quick form is the normalised text.
            quick = squeeze_runs(quick)
        # A key matched a simple message: judge it on the quick form, which is the one
        # normalised reading minus a leading space, and map offsets only for what survives
        # ("if you ever feel suicidal, call 988" ends here without any offset work).
        hits = self._assess_hits(text, quick)
        if not hits:
            return self._nothing
        (norm,) = variants(text)  # simple message: exactly one reading
        shift = 1 if norm.text.startswith(" ") else 0
        return self._verdict(self._matches(norm, hits, shift))

    def _scan_full(self, text: str) -> Detection:
        """Every reading of ``text``, with offsets and context: the reference behaviour."""
        matches: list[Match] = []
        for norm in variants(text):
            if norm.text:
                matches += self._matches(norm, self._assess_hits(text, norm.text), 0)
        return self._verdict(matches)

    def _verdict(self, matches: list[Match]) -> Detection:
        found: dict[tuple[str, int, int], Match] = {}
        for match in matches:
            key = (match.term, match.start, match.end)
            kept = found.get(key)
            if kept is None or severity_rank(match.severity) > severity_rank(kept.severity):
                found[key] = match
        if not found:
            return self._nothing
        return Detection.from_matches(_prune(list(found.values())), self._lexicon.version)

    def _matches(self, norm: Normalized, hits: list[_Verdict], shift: int) -> list[Match]:
        """Matches in ORIGINAL coordinates for hits found at ``norm.text[shift:]``."""
        entries = self._lexicon.entries
        out = []
        for index, phrase, start, end, severity in hits:
            o_start, o_end = norm.original_span(start + shift, end + shift)
            out.append(Match(phrase, entries[index].category, severity, o_start, o_end))
        return out

    def _assess_hits(self, text: str, norm_text: str) -> list[_Verdict]:
        """Hits in ``norm_text`` (normalised coordinates) with the severity context leaves them."""
        padded = " " + norm_text + " "
        hits: list[_Hit] = []
        for last, (length, whole_word, payloads) in self._lexicon.automaton.iter(padded):
            start, end = _span(norm_text, last, length, whole_word)
            for _, (index, phrase) in payloads:
                hits.append((index, phrase, start, end))
        if not hits:
            return []  # nothing to explain, no context to read
        cues = Cues(laughing_emoji=not text.isascii() and any(e in text for e in LAUGHING_EMOJI))
        for last, (length, whole_word, payloads) in self._lexicon.context_automaton.iter(padded):
            start, end = _span(norm_text, last, length, whole_word)
            for kind, ref in payloads:
                if kind == CUE:
                    cues.spans.setdefault(ref, []).append((start, end))
                elif kind == SAFE:
                    cues.safe.append((start, end))
        entries = self._lexicon.entries
        verdicts = [assess(entries[index], norm_text, start, end, cues) for index, _, start, end in hits]
        if len(hits) == 1:
            index, phrase, start, end = hits[0]
            return [] if verdicts[0] is None else [(index, phrase, start, end, verdicts[0])]
        out = []
        for i, (index, phrase, start, end) in enumerate(hits):
            severity = _inherit(i, hits, verdicts, entries)
            if severity is not None:
                out.append((index, phrase, start, end, severity))
        return out


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
    if len(matches) == 1:
        return (matches[0],)
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


def default_detector() -> Detector:
    """The detector of the repository-versioned lexicon, built once per process: its
    automata take about 100 MB, so a server must share this one, not build another."""
    return _DEFAULT


def scan(text: str) -> Detection:
    """Scan ``text`` with the default, repository-versioned lexicon."""
    return _DEFAULT.scan(text)
