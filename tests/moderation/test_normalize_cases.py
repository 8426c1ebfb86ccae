"""Every normalisation rule, one row each: what a person types -> what the lexicon sees."""

from __future__ import annotations

import pytest

from moderation.normalize import normalize, variants


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("SUICIDE", "suicide"),  # case
        ("suicidarmé", "suicidarme"),  # precomposed accent
        ("suicidarme\u0301", "suicidarme"),  # combining accent
        ("ñoño", "nono"),
        ("ｋｉｌｌ", "kill"),  # NFKC full-width
        ("ﬁne", "fine"),  # NFKC ligature
        ("Straße", "strasse"),  # casefold
        ("su\u200bicide", "suicide"),  # zero-width space
        ("su\u200c\u200dicide", "suicide"),  # ZWNJ / ZWJ
        ("\u202ekms\u202c", "kms"),  # bidi override
        ("k\u2066m\u2069s", "kms"),  # bidi isolates
        ("\ufeffkms", "kms"),  # BOM
        ("ѕuісіdе", "suicide"),  # Cyrillic look-alikes
        ("k1ll", "kill"),  # leet 1 -> i
        ("mys3lf", "myself"),  # leet 3 -> e
        ("d4nger", "danger"),  # leet 4 -> a
        ("0verdose", "overdose"),  # leet 0 -> o
        ("$uicide", "suicide"),  # leet $ -> s
        ("@lone", "alone"),  # leet @ -> a
        ("5ober", "sober"),  # leet 5 -> s
        ("7onight", "tonight"),  # leet 7 -> t
        ("k!ll", "kill"),  # ! inside a word
        ("die!!!", "die "),  # ! as emphasis stays punctuation
        ("call 988", "call 988"),  # numbers stay numbers
        ("1-800-222-1222", "1 800 222 1222"),
        ("took 50mg at 3am", "took 50mg at 3am"),  # number + unit stays
        ("killlll", "kil"),  # repeats squeezed (the lexicon knows "kil" for "kill")
        ("diiieee", "die"),
        ("kill", "kill"),  # legitimate double kept
        ("s u i c i d e", "suicide"),  # spaced letters
        ("s.u.i.c.i.d.e", "suicide"),  # dotted letters
        ("s-u-i-c-i-d-e", "suicide"),  # hyphenated letters
        ("k m s", "kms"),
        ("1 2 3", "1 2 3"),  # spaced digits are not a hidden word
        ("I'm", "im"),  # apostrophes inside words vanish
        ("don’t", "dont"),  # typographic apostrophe
        ("od'd", "odd"),
        ("self-harm", "self harm"),
        ("wait...   what?!", "wait what "),  # punctuation and runs of spaces -> one space
        ("¿qué?", " que "),
        ("😂 ok", " ok"),
    ],
)
def test_normalisation_rule(typed: str, normalised: str) -> None:
    assert normalize(typed).text == normalised


def test_ambiguous_one_is_read_both_as_i_and_as_l() -> None:
    assert {v.text for v in variants("a1one")} == {"aione", "alone"}


@pytest.mark.parametrize(
    "typed",
    ["k1ll mys3lf", "s.u.i.c.i.d.e", "KIIILLL", "su\u200bicide", "ﬁne", "ｋｍｓ", "e\u0301l", "😂 ok!!", "I'm  here"],
)
def test_every_normalised_character_maps_back_into_the_original(typed: str) -> None:
    for v in variants(typed):
        for i, ch in enumerate(v.text):
            start, end = v.original_span(i, i + 1)
            assert 0 <= start < end <= len(typed)
            if ch != " ":
                assert typed[start:end].strip(), (typed, i)  # a letter never maps to pure whitespace


def test_a_normalised_slice_maps_to_the_whole_obfuscated_span() -> None:
    typed = "xx s.u.i.c.i.d.e yy"
    v = normalize(typed)
    a = v.text.index("suicide")
    start, end = v.original_span(a, a + len("suicide"))
    assert typed[start:end] == "s.u.i.c.i.d.e"
