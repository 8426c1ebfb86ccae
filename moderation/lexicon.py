"""Load, validate and compile the crisis lexicon (data, reviewed by clinicians, not code).

The lexicon file (``moderation/lexicon/lexicon.json``) is versioned in the repository:

    {"version": "...", "reviewed_by": "...", "date": "YYYY-MM-DD",
     "entries": [{"term": "...", "category": "...", "severity": "...", "language": "en"|"es",
                  "notes": "...", "topic": false, "pinned": false, "tense": "present"|"past"}],
     "safe": [{"term": "...", "language": "...", "notes": "..."}],
     "cues": {"negation": [...], "past": [...], "resolved": [...], "humor": [...],
              "resource": [...], "conditional": [...]},
     "disable": ["term", ...]}

A staff override file has the same shape; it may add entries, safe phrases and cues,
and disable base entries by listing, under ``disable``, either an entry's exact ``term``
(the whole entry goes) or one phrase it expands to, as reported in ``Match.term``
(only that phrase goes).

Term syntax: plain phrases, written as a person would type them. ``(a|b|c)`` offers
alternatives, ``(a|b)?`` makes the group optional, and a trailing ``*`` lets the last
word continue ("suicid*" matches "suicidal", "suicidio"). Terms go through the same
normaliser as messages, so "I'm" and "im", "self-harm" and "self harm" are one term.

``pinned`` marks means+intent entries (a plan, a method in hand, an overdose in
progress) that context may soften but never silence; ``topic`` marks bare topic words
("suicide") that are quiet when the message is clearly about resources or training;
``tense: past`` marks disclosures that a clearly resolved recovery story may silence.
See POLICY.md.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from .detection import CATEGORIES, SEVERITIES
from .normalize import normalize

DEFAULT_PATH = Path(__file__).parent / "lexicon" / "lexicon.json"

LANGUAGES: tuple[str, ...] = ("en", "es")
CUE_KINDS: tuple[str, ...] = ("negation", "past", "resolved", "humor", "resource", "conditional")

_ENTRY_KEYS = frozenset({"term", "category", "severity", "language", "notes", "topic", "pinned", "tense"})
_SAFE_KEYS = frozenset({"term", "language", "notes"})
_TOP_KEYS = frozenset({"version", "reviewed_by", "date", "entries", "safe", "cues", "disable", "notes"})
_GROUP = re.compile(r"(\([^()]*\)\??)")
_DOUBLE = re.compile(r"([a-z])\1")
_MAX_EXPANSION = 4096

# Payload kinds stored in the automaton.
ENTRY, SAFE, CUE = 0, 1, 2


class LexiconError(ValueError):
    """The lexicon or override file is unusable; the message names the file and entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    category: str
    severity: str
    language: str
    notes: str = ""
    topic: bool = False
    pinned: bool = False
    tense: str = "present"


@dataclass(frozen=True, slots=True)
class Lexicon:
    """An immutable, compiled lexicon.

    ``automaton`` (entries) and ``context_automaton`` (safe phrases and cues) are
    pyahocorasick automatons built once in :func:`load_lexicon` and only read afterwards
    (``iter`` does not mutate them), so one Lexicon can be shared by every coroutine and
    thread. They are separate so a clean message, the common case, costs one pass that
    finds nothing. Each key maps to ``(key_length, whole_word, ((kind, ref), ...))``.
    """

    version: str
    reviewed_by: str
    date: str
    entries: tuple[Entry, ...]
    safe_phrases: tuple[str, ...]
    sources: tuple[str, ...]
    disabled_phrases: frozenset[str]
    automaton: Any
    context_automaton: Any


def expand(term: str) -> list[str]:
    """Spell out every phrase a term stands for ("(a|b) c?" syntax, see module doc)."""
    parts = _GROUP.split(term)
    options: list[list[str]] = []
    for part in parts:
        if _GROUP.fullmatch(part):
            optional = part.endswith("?")
            inner = part[1:-2] if optional else part[1:-1]
            choices = inner.split("|")
            if any(not c.strip() for c in choices):
                raise ValueError("empty alternative in a group (use '(...)?' for optional)")
            options.append(choices + ([""] if optional else []))
        else:
            if any(c in part for c in "()|?[]"):
                raise ValueError("'(', ')', '|' and '?' only form groups like '(a|b)' or '(a )?'; no nesting")
            options.append([part])
    count = 1
    for o in options:
        count *= len(o)
    if count > _MAX_EXPANSION:
        raise ValueError(f"expands to {count} phrases (limit {_MAX_EXPANSION})")
    return [" ".join("".join(combo).split()) for combo in itertools.product(*options)]


def _forms(phrase: str, *, joined: bool) -> set[str]:
    """The normalised keys for one phrase: as typed, with doubles squeezed, run together."""
    prefix = phrase.endswith("*")
    norm = normalize(phrase.rstrip("*")).text.strip()
    if not norm:
        return set()
    doubles = [m.start() for m in _DOUBLE.finditer(norm)]
    picks: Iterator[tuple[int, ...]]
    if len(doubles) <= 3:
        picks = itertools.chain.from_iterable(itertools.combinations(doubles, k) for k in range(len(doubles) + 1))
    else:
        picks = iter([(), tuple(doubles)])
    forms = set()
    for pick in picks:
        chars = list(norm)
        for pos in pick:
            chars[pos] = ""
        forms.add("".join(chars))
    if joined:
        forms |= {f.replace(" ", "") for f in list(forms) if 1 < f.count(" ") + 1 <= 4}
    tail = "" if prefix else " "
    return {" " + f + tail for f in forms}


def _fail(path: str, where: str, problem: str) -> LexiconError:
    return LexiconError(f"{path}: {where}: {problem}")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read lexicon file: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: top level must be a JSON object")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(path, "top level", f"unknown keys {sorted(unknown)}")
    for key in ("version", "reviewed_by", "date"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(path, "top level", f"'{key}' is required and must be a non-empty string")
    return data


def _parse_entries(path: str, data: dict[str, Any]) -> list[Entry]:
    raw = data.get("entries", [])
    if not isinstance(raw, list):
        raise _fail(path, "entries", "must be a list")
    entries = []
    for i, item in enumerate(raw):
        term = item.get("term") if isinstance(item, dict) else None
        where = f"entries[{i}]" + (f" (term {term!r})" if isinstance(term, str) else "")
        if not isinstance(item, dict):
            raise _fail(path, where, "must be an object")
        unknown = set(item) - _ENTRY_KEYS
        if unknown:
            raise _fail(path, where, f"unknown keys {sorted(unknown)}")
        if not isinstance(term, str) or not term.strip():
            raise _fail(path, where, "'term' is required and must be a non-empty string")
        if item.get("category") not in CATEGORIES:
            raise _fail(path, where, f"category {item.get('category')!r} is not one of {list(CATEGORIES)}")
        if item.get("severity") not in SEVERITIES:
            raise _fail(path, where, f"severity {item.get('severity')!r} is not one of {list(SEVERITIES)}")
        if item.get("language") not in LANGUAGES:
            raise _fail(path, where, f"language {item.get('language')!r} is not one of {list(LANGUAGES)}")
        if item.get("tense", "present") not in ("present", "past"):
            raise _fail(path, where, "tense must be 'present' or 'past'")
        for flag in ("topic", "pinned"):
            if not isinstance(item.get(flag, False), bool):
                raise _fail(path, where, f"'{flag}' must be true or false")
        if not isinstance(item.get("notes", ""), str):
            raise _fail(path, where, "'notes' must be a string")
        try:
            if not any(_forms(p, joined=False) for p in expand(term)):
                raise ValueError("normalises to nothing")
        except ValueError as exc:
            raise _fail(path, where, f"bad term: {exc}") from None
        entries.append(Entry(**{k: v for k, v in item.items()}))
    return entries


def _parse_phrases(path: str, raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise _fail(path, where, "must be a list of non-empty strings")
    for p in raw:
        try:
            expand(p)
        except ValueError as exc:
            raise _fail(path, f"{where} ({p!r})", f"bad term: {exc}") from None
    return list(raw)


def _parse_safe(path: str, data: dict[str, Any]) -> list[str]:
    raw = data.get("safe", [])
    if not isinstance(raw, list):
        raise _fail(path, "safe", "must be a list")
    out = []
    for i, item in enumerate(raw):
        where = f"safe[{i}]"
        if not isinstance(item, dict) or set(item) - _SAFE_KEYS or not isinstance(item.get("term"), str):
            raise _fail(path, where, "must be an object with 'term' (and optional 'language', 'notes')")
        out.extend(_parse_phrases(path, [item["term"]], where))
    return out


def _parse_cues(path: str, data: dict[str, Any]) -> dict[str, list[str]]:
    raw = data.get("cues", {})
    if not isinstance(raw, dict):
        raise _fail(path, "cues", "must be an object")
    unknown = set(raw) - set(CUE_KINDS)
    if unknown:
        raise _fail(path, "cues", f"unknown cue kinds {sorted(unknown)}; expected {list(CUE_KINDS)}")
    return {kind: _parse_phrases(path, raw[kind], f"cues.{kind}") for kind in raw}


def _build(payloads: dict[str, list[tuple[int, Any]]]) -> Any:
    automaton = ahocorasick.Automaton()
    for key, bucket in payloads.items():
        automaton.add_word(key, (len(key), key.endswith(" "), tuple(bucket)))
    if not payloads:
        automaton.add_word("\x00", (1, False, ()))  # an empty automaton cannot be built
    automaton.make_automaton()
    return automaton


def _compile(
    entries: list[Entry], safe: list[str], cues: dict[str, list[str]], disabled: frozenset[str]
) -> tuple[Any, Any]:
    """Compile entries into one automaton and context (safe phrases, cues) into another."""
    found: dict[str, list[tuple[int, Any]]] = {}
    context: dict[str, list[tuple[int, Any]]] = {}

    def add(table: dict[str, list[tuple[int, Any]]], key: str, payload: tuple[int, Any]) -> None:
        bucket = table.setdefault(key, [])
        if payload not in bucket:
            bucket.append(payload)

    for index, entry in enumerate(entries):
        for phrase in expand(entry.term):
            if phrase in disabled:
                continue
            for key in _forms(phrase, joined=True):
                add(found, key, (ENTRY, (index, phrase)))
    for phrase in (p for s in safe for p in expand(s)):
        for key in _forms(phrase, joined=False):
            add(context, key, (SAFE, None))
    for kind, phrases in cues.items():
        for phrase in (p for s in phrases for p in expand(s)):
            for key in _forms(phrase, joined=False):
                add(context, key, (CUE, kind))
    return _build(found), _build(context)


def load_lexicon(override_path: str | None = None, *, base_path: str | None = None) -> Lexicon:
    """Load the versioned lexicon, merge an optional staff override, and compile it.

    Raises :class:`LexiconError` naming the file and the entry when anything is wrong:
    a lexicon that silently loses entries would silently miss crises.
    """
    base = str(base_path or DEFAULT_PATH)
    data = _read(base)
    entries = _parse_entries(base, data)
    safe = _parse_safe(base, data)
    cues = _parse_cues(base, data)
    version, reviewed_by, date, sources = data["version"], data["reviewed_by"], data["date"], [base]
    disabled: frozenset[str] = frozenset()
    if override_path is not None:
        extra = _read(override_path)
        disable = extra.get("disable", [])
        if not isinstance(disable, list) or not all(isinstance(t, str) for t in disable):
            raise _fail(override_path, "disable", "must be a list of terms")
        known = {e.term for e in entries}
        phrases = {p for e in entries for p in expand(e.term)}
        for term in disable:
            if term not in known and term not in phrases:
                raise _fail(override_path, f"disable ({term!r})", "no base entry has this exact term or phrase")
        off = set(disable)
        disabled = frozenset(t for t in off if t not in known)
        entries = [e for e in entries if e.term not in off] + _parse_entries(override_path, extra)
        safe += _parse_safe(override_path, extra)
        for kind, cue_phrases in _parse_cues(override_path, extra).items():
            cues[kind] = cues.get(kind, []) + cue_phrases
        version = f"{version}+{extra['version']}"
        reviewed_by = f"{reviewed_by}; override: {extra['reviewed_by']}"
        sources.append(str(override_path))
    automaton, context_automaton = _compile(entries, safe, cues, disabled)
    return Lexicon(
        version=version,
        reviewed_by=reviewed_by,
        date=date,
        entries=tuple(entries),
        safe_phrases=tuple(safe),
        sources=tuple(sources),
        disabled_phrases=disabled,
        automaton=automaton,
        context_automaton=context_automaton,
    )
