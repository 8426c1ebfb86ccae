"""Text -> the comparable form the lexicon is matched against, with a way back.

People in crisis do not type dictionary words, and some hide them on purpose:
"S U I C I D E", "k1ll mys3lf", "su\u200bicide", "kiiilll myself", "suicidarmé", Cyrillic
"ѕuicide". Every step here removes one such difference so the lexicon can stay a list
of plain phrases. The pipeline is pure and deterministic and is applied both to
messages and to lexicon terms, so the two always meet in the same form.

Every character of the normalised text keeps the original offsets it came from
(``starts``/``ends``), so a match can be reported as ``text[start:end]``, exactly what
the user typed, obfuscation included.

Steps, in order (each one is a small function below):

1. fold: NFKC, casefold, strip accents, drop zero-width/bidi/combining marks,
   Cyrillic/Greek look-alikes -> Latin, typographic apostrophes -> "'".
2. apostrophes are removed ("i'm" -> "im", "don't" -> "dont", "'kms'" -> "kms").
3. letters written one at a time are joined ("s u i c i d e", "k.m.s", "s-u-i").
4. leetspeak inside words that also contain letters ("k1ll", "$uicide", "d13");
   a token that is a number, or a number with a unit ("988", "50mg", "3am"), is
   left alone so phone numbers and doses stay intact.
5. a letter repeated 3+ times becomes one ("killlll" -> "kil", "diiieee" -> "die");
   legitimate doubles are kept, and the lexicon compiles each term with and without
   its doubles, so "killlll" still meets "kill".
6. everything that is not a-z/0-9 becomes a single space.

The digit "1" is read as "i" ("k1ll") and, in a second variant, as "l" ("a1one");
:func:`variants` returns both when it matters. It also reads a capital "I" inside a
lower-case word as "l" ("kiIl myseIf") and a censoring asterisk inside a word as each
vowel ("k*ll", "su*cide"), as extra variants.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from types import MappingProxyType
from typing import NamedTuple

# Invisible characters used to split a word so a filter misses it, plus bidi controls
# that can reorder what a reader sees: removed outright.
_INVISIBLE = frozenset(
    chr(c)
    for c in (
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x206A),  # word joiner, invisible operators, bidi isolates
        0xFEFF,  # BOM / zero-width no-break space
        0x00AD,  # soft hyphen
        0x034F,  # combining grapheme joiner
        0x180E,  # Mongolian vowel separator
        *range(0xFE00, 0xFE10),  # variation selectors (emoji presentation)
    )
)

# A few look-alikes from other scripts that NFKC leaves alone (after casefold).
_HOMOGLYPHS: MappingProxyType[str, str] = MappingProxyType(
    {
        "а": "a", "е": "e", "о": "o", "с": "c", "і": "i", "ј": "j", "р": "p",
        "х": "x", "у": "y", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "к": "k",
        "м": "m", "т": "t", "в": "b", "н": "h", "ё": "e", "ї": "i",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "ν": "v", "χ": "x",
    }
)  # fmt: skip

_APOSTROPHES = frozenset("'’‘`´ʼ′")

_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                         "@": "a", "$": "s", "!": "i", "|": "l"})  # fmt: skip
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t",
                         "@": "a", "$": "s", "!": "i", "|": "l"})  # fmt: skip

# Three or more single characters, each separated by 1-3 separator characters.
_SPACED = re.compile(r"(?<![a-z0-9@$])[a-z0-9@$](?:[ .\-_*+~/·•]{1,3}[a-z0-9@$](?![a-z0-9@$])){2,}")
_SPACED_CHAR = re.compile(r"[a-z0-9@$]")
# Cheap necessary condition for _SPACED on a probe where separators read as " ": two
# single characters in a row, each after a separator. Starts with a literal, so it is fast.
_SPACED_PROBE = re.compile(r" [a-z0-9@$] {1,3}[a-z0-9@$](?![a-z0-9@$])")
_PROBE = {
    c: (" " if chr(c) in " .-_*+~/" else "#")
    for c in range(0x80)
    if not (chr(c).isalnum() or chr(c) in "@$") or chr(c).isupper()
}
_PROBE_BYTES = bytes(ord(_PROBE[c]) if c in _PROBE else c for c in range(256))
_PROBE.update({ord("·"): " ", ord("•"): " "})
# Cheap necessary condition for _LEET_WORD: a leet character touching a letter.
_LEET_HINT = re.compile(r"[0-9@$|!][a-z]|[a-z][0-9@$|!]")
# A word that contains at least one letter and at least one leet character.
_LEET_WORD = re.compile(r"(?<![a-z0-9@$|!])(?=[a-z0-9@$|!]*[a-z])[a-z0-9@$|!]*[0-9@$|!][a-z0-9@$|!]*")
# Numbers and numbers with units stay numbers: "988", "50mg", "3am", "2nd", "24hrs".
_NUMBER_WORD = re.compile(
    r"\d+(?:st|nd|rd|th|s|am|pm|mg|mcg|g|kg|lb|lbs|ml|oz|k|x|h|hr|hrs|min|mins|yr|yrs|yo|m|d|w|ish)?"
)
_REPEAT = re.compile(r"([a-z])\1{2,}")
_LEET_CHARS = frozenset("0134579@$!|")
_REPEAT_HINT = re.compile(r"(.)\1\1")  # fast necessary condition for _REPEAT
# Every ASCII character that is not a-z/0-9 reads as a space (one for one).
_SEPARATOR_TO_SPACE = {c: " " for c in range(0x80) if not chr(c).isalnum() or chr(c).isupper()}
# The same two tables as bytes: bytes.translate is far faster than str.translate, and
# most messages are ASCII after folding.
_SEPARATOR_BYTES = bytes(32 if c in _SEPARATOR_TO_SPACE else c for c in range(256))
# Any run of non-alphanumerics, except the common case of one space between words.
_SEPARATORS = re.compile(r"(?! [a-z0-9])[^a-z0-9]+")


def _fold_char(ch: str) -> str:
    """Fold one non-ASCII character; '' removes it, several characters expand it."""
    if ch in _INVISIBLE:
        return ""
    if ch in _APOSTROPHES:
        return "'"
    category = unicodedata.category(ch)
    if category in ("Mn", "Me"):
        return ""  # combining marks: accents typed separately, "zalgo" text
    if category[0] == "C":
        return " "  # controls, lone surrogates, private use: treat as a separator
    folded = unicodedata.normalize("NFKC", ch).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    return "".join(_HOMOGLYPHS.get(c, c) for c in decomposed if not unicodedata.combining(c) and c not in _INVISIBLE)


def _build_fold_table() -> MappingProxyType[str, str]:
    """Precompute the fold of the scripts chat text mostly uses; others fold on the fly."""
    ranges = (
        range(0x80, 0x0530),  # Latin-1 .. Cyrillic
        range(0x0300, 0x0370),
        range(0x1E00, 0x1F00),  # Latin extended additional
        range(0x2000, 0x2070),  # general punctuation (incl. zero-width, bidi)
        range(0xFB00, 0xFB07),  # ligatures
        range(0xFE00, 0xFE10),
        range(0xFF00, 0xFFF0),  # full-width forms
    )
    table = {chr(c): _fold_char(chr(c)) for r in ranges for c in r}
    table["\ufeff"] = ""
    return MappingProxyType(table)


_FOLD_TABLE = _build_fold_table()


def _build_one_to_one() -> tuple[dict[int, str], re.Pattern[str]]:
    """A translate() table for characters that fold to exactly one character, and a
    regex matching any character that does not (removed, expanded, or not tabulated),
    so the common non-ASCII message (accents, emoji) skips the per-character loop."""
    table = {ord(c): f for c, f in _FOLD_TABLE.items() if len(f) == 1}
    table.update({c: chr(c).lower() for c in range(0x80)})
    for c in (*range(0x2190, 0x2C00), *range(0x1F000, 0x1FB00)):  # arrows, symbols, emoji
        if chr(c) not in _FOLD_TABLE and len(f := _fold_char(chr(c))) == 1:
            table[c] = f
    codes = sorted(table)
    ranges, begin, prev = [], codes[0], codes[0]
    for c in codes[1:]:
        if c != prev + 1:
            ranges.append((begin, prev))
            begin = c
        prev = c
    ranges.append((begin, prev))
    cls = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)
    return table, re.compile(f"[^{cls}]")


_ONE_TO_ONE, _NOT_ONE_TO_ONE = _build_one_to_one()


# One rewrite: the input span [a, b) became ``length`` characters; ``sources[k]`` is the
# (first, last) input index that output character k came from.
Edit = tuple[int, int, int, tuple[tuple[int, int], ...]]


def _back(edits: tuple[Edit, ...], q: int, side: int) -> int:
    """Map output index ``q`` of one stage to its input index (side 0: first, 1: last)."""
    delta = 0
    for a, b, length, sources in edits:
        out_a = a + delta
        if q < out_a:
            break
        if q < out_a + length:
            return sources[q - out_a][side]
        delta += length - (b - a)
    return q - delta


class Normalized(NamedTuple):
    """Normalised text plus what is needed to map any slice of it back to the original.

    A NamedTuple rather than a frozen dataclass: it is built for every message, and
    tuple construction is several times cheaper. Offsets are kept sparsely (the edits
    of each stage, and a per-character map only when folding was not one-to-one),
    because most messages are clean and never need
    mapping; :meth:`original_span` replays the edits backwards for the few hits.
    """

    text: str
    fold_starts: tuple[int, ...] | None  # None: folding kept every character in place
    fold_ends: tuple[int, ...] | None
    stages: tuple[tuple[Edit, ...], ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised slice ``[start, end)`` to ``(start, end)`` in the original text."""
        first, last = start, end - 1
        for edits in reversed(self.stages):
            if edits:
                first, last = _back(edits, first, 0), _back(edits, last, 1)
        if self.fold_starts is None or self.fold_ends is None:
            return first, last + 1
        return self.fold_starts[first], self.fold_ends[last]


_Edit = tuple[str, list[tuple[int, int]]]  # replacement text, (first, last) source index per char


def _rewrite(
    s: str, pattern: re.Pattern[str], edit: Callable[[re.Match[str]], _Edit | None]
) -> tuple[str, tuple[Edit, ...]]:
    """Apply ``edit`` to every match of ``pattern`` and record what moved where."""
    edits: list[Edit] = []

    def replace(m: re.Match[str]) -> str:
        result = edit(m)
        if result is None:
            return m.group()
        text, sources = result
        edits.append((m.start(), m.end(), len(text), tuple(sources)))
        return text

    return pattern.sub(replace, s), tuple(edits)


def _fold(text: str) -> tuple[str, tuple[int, ...] | None, tuple[int, ...] | None]:
    """Fold case, accents, look-alikes and invisibles; offsets only when they move."""
    if text.isascii():
        return text.lower(), None, None  # lower() is one-to-one on ASCII
    if not _NOT_ONE_TO_ONE.search(text):
        return text.translate(_ONE_TO_ONE), None, None
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    table = _FOLD_TABLE
    for i, ch in enumerate(text):
        if ch < "\x80":
            folded = ch.lower()
        else:
            cached = table.get(ch)
            folded = cached if cached is not None else _fold_char(ch)
        if len(folded) == 1:
            chars.append(folded)
            starts.append(i)
            ends.append(i + 1)
        elif not folded:
            if ends:
                ends[-1] = i + 1  # a removed mark belongs to the character before it
        else:
            for c in folded:
                chars.append(c)
                starts.append(i)
                ends.append(i + 1)
    return "".join(chars), tuple(starts), tuple(ends)


def _join_spaced(m: re.Match[str]) -> _Edit | None:
    run = m.group()
    if sum(c.isalpha() for c in run) < 2:
        return None  # "1 2 3", "9.8.8": numbers, not a hidden word
    base = m.start()
    sources = [(base + k, base + k) for k, c in enumerate(run) if _SPACED_CHAR.match(c)]
    return "".join(run[k - base] for k, _ in sources), sources


def _squeeze(m: re.Match[str]) -> _Edit:
    return m.group(1), [(m.start(), m.end() - 1)]


def _separator(m: re.Match[str]) -> _Edit:
    return " ", [(m.start(), m.end() - 1)]


def _deleet(s: str, table: dict[int, str]) -> str:
    """Leet -> letters, one character for one character, so offsets do not move."""

    def word(m: re.Match[str]) -> str:
        w = m.group()
        core = w.rstrip("!")  # "die!!!" is emphasis, not "dieiii"
        if _NUMBER_WORD.fullmatch(core):
            return w
        return core.translate(table) + w[len(core) :]

    return _LEET_WORD.sub(word, s)


def _collapse_spaces(s: str) -> tuple[str, tuple[Edit, ...]]:
    """Runs of spaces -> one space; a find() loop beats a regex callback on short text."""
    i = s.find("  ")
    if i < 0:
        return s, ()
    edits: list[Edit] = []
    pieces: list[str] = []
    last = 0
    while i >= 0:
        j = i + 2
        while j < len(s) and s[j] == " ":
            j += 1
        pieces.append(s[last : i + 1])
        edits.append((i, j, 1, ((i, j - 1),)))
        last = j
        i = s.find("  ", j)
    pieces.append(s[last:])
    return "".join(pieces), tuple(edits)


def _drop_apostrophes(s: str) -> tuple[str, tuple[Edit, ...]]:
    """Apostrophes vanish ("i'm" -> "im", "od'd" -> "odd"); quotes around words too."""
    edits: list[Edit] = []
    i = s.find("'")
    while i >= 0:
        edits.append((i, i + 1, 0, ()))
        i = s.find("'", i + 1)
    return s.replace("'", ""), tuple(edits)


def _finish(
    s: str, fold: tuple[tuple[int, ...] | None, tuple[int, ...] | None], early: tuple[tuple[Edit, ...], ...]
) -> Normalized:
    squeezed: tuple[Edit, ...] = ()
    if _REPEAT_HINT.search(s):
        s, squeezed = _rewrite(s, _REPEAT, _squeeze)
    if s.isascii():
        s = s.encode("ascii").translate(_SEPARATOR_BYTES).decode("ascii")  # one-to-one: no offsets move
        s, separated = _collapse_spaces(s)
    else:
        s, separated = _rewrite(s, _SEPARATORS, _separator)
    return Normalized(s, fold[0], fold[1], (*early, squeezed, separated))


# Two more disguises, each read as an extra variant (one character for one, so offsets do
# not move): a capital I typed for an l inside a lower-case word ("kiIl", "myseIf"), and
# a censoring asterisk inside a word ("k*ll", "su*cide"), read as each vowel in turn.
_I_FOR_L = re.compile(r"(?<=[a-z])I+")
_I_FOR_L_HINT = re.compile(r"[a-z]I")
_STAR_IN_WORD = re.compile(r"(?<=[A-Za-z])\*+(?=[A-Za-z])")
_STAR_VOWELS = "aeiou"


def _disguised(text: str) -> list[str]:
    """Alternative spellings of ``text`` with the disguises above undone (usually none)."""
    out = []
    if "I" in text and _I_FOR_L_HINT.search(text):
        text = _I_FOR_L.sub(lambda m: "l" * len(m.group()), text)
        out.append(text)
    if "*" in text and _STAR_IN_WORD.search(text):
        out += [_STAR_IN_WORD.sub(_vowels(v), text) for v in _STAR_VOWELS]
    return out


def _vowels(vowel: str) -> Callable[[re.Match[str]], str]:
    return lambda m: vowel * len(m.group())


def variants(text: str) -> tuple[Normalized, ...]:
    """All readings of ``text`` worth matching: usually one; more when a "1" may be an "l",
    a capital "I" may be an "l" ("kiIl") or an asterisk hides a vowel ("k*ll")."""
    readings = _variants(text)
    alternatives = _disguised(text)
    if not alternatives:
        return readings
    seen = {r.text for r in readings}
    extra = []
    for alt in alternatives:
        for r in _variants(alt):  # same length as ``text``: offsets still index the original
            if r.text not in seen:
                seen.add(r.text)
                extra.append(r)
    return readings + tuple(extra)


def _variants(text: str) -> tuple[Normalized, ...]:
    s, starts, ends = _fold(text)
    s, joined_apostrophes = _drop_apostrophes(s)
    joined_letters: tuple[Edit, ...] = ()
    probe = s.encode("ascii").translate(_PROBE_BYTES).decode("ascii") if s.isascii() else s.translate(_PROBE)
    if _SPACED_PROBE.search(probe):
        s, joined_letters = _rewrite(s, _SPACED, _join_spaced)
    early = (joined_apostrophes, joined_letters)
    if _LEET_CHARS.isdisjoint(s) or not _LEET_HINT.search(s):
        return (_finish(s, (starts, ends), early),)
    as_i = _deleet(s, _LEET_I)  # one-to-one: no offsets move
    result = [_finish(as_i, (starts, ends), early)]
    if "1" in s and as_i != s:
        as_l = _deleet(s, _LEET_L)
        if as_l != as_i:
            result.append(_finish(as_l, (starts, ends), early))
    return tuple(result)


def normalize(text: str) -> Normalized:
    """The primary normalised form of ``text`` (leet "1" read as "i")."""
    return variants(text)[0]


# quick_form tables. Lower-case ASCII and drop apostrophes in one bytes.translate call.
_LOWER_BYTES = bytes(ord(chr(c).lower()) for c in range(128)) + bytes(range(128, 256))
# Character classes of lower-cased ASCII, so several "could this need rewriting?" checks
# become substring tests (memchr speed) instead of regexes with alternations:
# l = letter, d = digit or @ $ (leet that may also be a spaced letter), p = | (leet
# only), x = ! (leet only inside a word), " " = a separator that may sit between spaced
# letters, # = anything else.
_CLASS_BYTES = bytes(
    ord(
        "l" if chr(c).islower() and chr(c).isascii()
        else "d" if chr(c).isdigit() or chr(c) in "@$"
        else "p" if chr(c) == "|"
        else "x" if chr(c) == "!"
        else " " if chr(c) in " .-_*+~/"
        else "#"
    )
    for c in range(256)
)  # fmt: skip
_SPACED_CLASS_PROBE = re.compile(rb" [ld] {1,3}[ld](?![ld])")  # _SPACED_PROBE on classes
# "!" is leet only when more of the word follows ("k!ll", "!dea"); "today!!" is emphasis.
_BANG_BEFORE_WORD = re.compile(rb"x[ldp]")

#: Every run of three equal letters. A text holding one needs squeezing (step 5), which
#: :func:`quick_form` does not do; the detector's clean-message filter sends such a text
#: to the full pipeline (mapping separators to spaces cannot make or break a
#: run of letters, so looking for them in the quick form is exact).
LETTER_RUNS: tuple[str, ...] = tuple(chr(c) * 3 for c in range(ord("a"), ord("z") + 1))


def quick_form(text: str) -> str | None:
    """The normalised text of a *simple* message, fast and without offsets; else ``None``.

    The clean-message fast path of :meth:`Detector.scan`: no per-character Python loop,
    no offset bookkeeping, a few C-level calls (``translate``, byte tests, one regex that
    starts with a literal). "Simple" means folding is one-to-one, no spaced-out letters
    are joined and no leetspeak is rewritten (``3pm`` and ``988`` are fine), so
    :func:`variants` yields exactly one reading. For such a message the result equals
    ``variants(text)[0].text`` with leading/trailing spaces stripped (no lexicon key can
    see them: keys hold single spaces only) and with runs of 3+ equal letters NOT yet
    squeezed: callers must treat a text containing one of :data:`LETTER_RUNS` as needing
    the full pipeline. ``None`` sends the caller to the full pipeline, so the fast path
    can only be faster, never see less; tests check the equality on every eval message
    and on random strings.
    """
    if ("I" in text and _I_FOR_L_HINT.search(text)) or ("*" in text and _STAR_IN_WORD.search(text)):
        return None  # "kiIl", "k*ll": more than one reading
    if text.isascii():
        b = text.encode("ascii").translate(_LOWER_BYTES, b"'")
    else:
        if _NOT_ONE_TO_ONE.search(text):
            return None  # removed/expanded characters: offsets move, use the full pipeline
        s = text.translate(_ONE_TO_ONE).replace("'", "")
        if s.isascii():
            b = s.encode("ascii")
        else:
            # What is still not ASCII (emoji, "¿") is no letter, digit or leet character,
            # so every step treats it like "?", except the two dots _SPACED accepts as
            # separators between spaced letters, which read like ".".
            if "·" in s or "•" in s:
                s = s.replace("·", ".").replace("•", ".")
            b = s.encode("ascii", "replace")
    c = b.translate(_CLASS_BYTES)
    if _SPACED_CLASS_PROBE.search(c) and _SPACED.search(b.decode("ascii")):
        return None  # letters written one at a time may be joined
    if (b"d" in c or b"p" in c or b"x" in c) and (
        b"ld" in c or b"dl" in c or b"lp" in c or b"pl" in c or _BANG_BEFORE_WORD.search(c)
    ):
        s = b.decode("ascii")  # a leet character touches a letter: is it more than "3pm"?
        if not _LEET_CHARS.isdisjoint(s) and _LEET_HINT.search(s) and _deleet(s, _LEET_I) != s:
            return None  # leetspeak: maybe two readings, let the full pipeline decide
    # Every non-alphanumeric becomes a space; split() then drops runs and the ends.
    return " ".join(b.translate(_SEPARATOR_BYTES).decode("ascii").split())


def squeeze_runs(s: str) -> str:
    """Step 5 alone, without offsets: "sooo" -> "so" (for the output of :func:`quick_form`)."""
    return _REPEAT.sub(r"\1", s)
