"""Stories the detector must get right: crises caught, idioms quiet, offsets exact."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from moderation import CATEGORIES, LEXICON_VERSION, SEVERITIES, Detection, Match, scan
from moderation.evaluate import evaluate, format_report, load_cases

EVAL_SET = Path(__file__).with_name("eval_set.jsonl")


def test_eval_set_meets_recall_and_false_alarm_thresholds() -> None:
    cases = load_cases(EVAL_SET)
    report = evaluate(cases)
    assert report.passed, format_report(report)
    assert report.recall["high"] == 1.0
    assert report.recall["medium"] >= 0.90
    assert report.false_alarm_rate <= 0.03


def test_eval_set_has_the_promised_composition() -> None:
    cases = load_cases(EVAL_SET)
    assert len(cases) >= 450
    assert sum(c.lang == "es" for c in cases) >= 80
    assert sum(c.expected == "none" for c in cases) >= 150
    assert {c.expected for c in cases} == {"high", "medium", "low", "none"}


@pytest.mark.parametrize(
    "text",
    [
        "i'm going to kill myself tonight",
        "I wrote goodbye letters to my kids",
        "gave my dog away, I won't be around much longer",
        "took the whole bottle",
        "my roommate is not breathing",
        "I'm going to stab him when he gets home",
        "me voy a matar",
        "me tomé todas las pastillas",
    ],
)
def test_imminent_risk_is_high(text: str) -> None:
    assert scan(text).severity == "high"


@pytest.mark.parametrize(
    "text",
    [
        "i want to k1ll mys3lf",
        "I'm going to s.u.i.c.i.d.e tonight",
        "i'm going to k i l l myself",
        "gonna kms",
        "KILLLLL MYSELF tonight",
        "i want to ki\u200bll myself",
        "i want to kіll myself",  # Cyrillic і
        "i'm going to unalive myself",
        "kermit sewer slide tonight",
        "ｉ'ｍ ｇｏｉｎｇ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ",  # full-width
        "i'm going to k-i-l-l myself",
        "gonna $hoot my$elf",
        "quiero suicidarmé",
    ],
)
def test_obfuscated_suicide_intent_is_high(text: str) -> None:
    assert scan(text).severity == "high"


@pytest.mark.parametrize(
    "text",
    [
        "that workout killed me",
        "i'm dying to see it",
        "i'd kill for a coffee",
        "this traffic is killing me",
        "i'm dead 😂",
        "the counselor said call 988 if you ever feel suicidal",
        "we did suicide prevention training today",
        "two years ago I wanted to die, today I'm grateful",
        "I went to a meeting last night",
        "killing it at work",
        "had a shot of espresso",
        "the party was lit",
        "me muero de risa",
        "me mata el tráfico",
        "988 is the number, or 1-800-222-1222 for poison help",
        "",
    ],
)
def test_idioms_and_safe_contexts_stay_quiet(text: str) -> None:
    assert scan(text).flagged is False


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("me quiero morir", "medium"),
        ("ya no quiero vivir", "medium"),
        ("me voy a matar", "high"),
        ("me corté anoche", "medium"),
        ("tomé todas las pastillas", "high"),
        ("volví a consumir", "medium"),
        ("tengo ganas de consumir", "low"),
    ],
)
def test_spanish_crisis_language_is_detected(text: str, severity: str) -> None:
    assert scan(text).severity == severity


def test_negation_lowers_but_never_silences_intent() -> None:
    negated = scan("i'm not going to hurt myself")
    assert negated.severity == "medium"  # one tier below "going to hurt myself" (high)
    assert scan("i'm going to hurt myself").severity == "high"
    assert scan("no me voy a matar").severity == "medium"
    assert scan("i'm not suicidal").severity == "low"


def test_negation_does_not_leak_across_unrelated_words() -> None:
    assert scan("i'm not ok. i want to kill myself").severity == "high"
    assert scan("not gonna lie, i want to die").severity == "medium"


def test_pinned_means_are_never_silenced_by_context() -> None:
    # A resolved-sounding message that still reports pills lined up keeps a flag.
    d = scan("years ago I was clean and grateful, but the pills are lined up now")
    assert d.flagged
    assert d.severity == "high"


def test_humour_softens_slang_by_one_tier() -> None:
    assert scan("kms").severity == "high"
    assert scan("kms lol").severity == "medium"


def test_detection_reports_term_category_and_version() -> None:
    d = scan("i want to kill myself")
    assert isinstance(d, Detection)
    assert d.lexicon_version == LEXICON_VERSION
    assert d.categories == ("suicide",)
    assert all(isinstance(m, Match) and m.category in CATEGORIES and m.severity in SEVERITIES for m in d.matches)
    assert any("kill myself" in m.term for m in d.matches)


def test_severity_is_the_max_and_categories_sorted_unique() -> None:
    d = scan("i relapsed last night and now i want to kill myself")
    assert d.severity == "high"
    assert d.categories == tuple(sorted(set(d.categories)))
    assert set(d.categories) == {"relapse", "suicide"}


OFFSET_CASES = [
    ("I'm going to k1ll mys3lf", "I'm going to k1ll mys3lf"),
    ("ok so... s.u.i.c.i.d.e tonight", "s.u.i.c.i.d.e tonight"),
    ("i want to KIIILLLL MYSELF!!!", "want to KIIILLLL MYSELF"),
    ("gonna k m s", "k m s"),
    ("i want to ki\u200bll myself", "want to ki\u200bll myself"),
    ("😂😂 kms", "kms"),
    ("quiero suicidarme\u0301", "quiero suicidarme\u0301"),
    ("ｋｍｓ now", "ｋｍｓ"),
    ("me tomé todas las pastillas", "me tomé todas las pastillas"),
    ("he od'd, get narcan", "get narcan"),
]


@pytest.mark.parametrize(("text", "span"), OFFSET_CASES)
def test_match_offsets_point_into_the_original_text(text: str, span: str) -> None:
    d = scan(text)
    assert d.flagged
    spans = [text[m.start : m.end] for m in d.matches]
    assert span in spans, spans


def test_every_match_offset_is_inside_the_text_across_the_eval_set() -> None:
    for case in load_cases(EVAL_SET):
        for m in scan(case.text).matches:
            assert 0 <= m.start < m.end <= len(case.text), case.id
            original = case.text[m.start : m.end]
            assert original.strip() == original or not original.strip() == "", case.id
            assert original[0].isalnum() or original[0] in "$@", (case.id, original)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\ud800",
        "a\udfffb kill myself \ud800",
        "e\u0301\u0301\u0301\u0301 zalgo k\u0336i\u0336l\u0336l\u0336",
        "\x00\x01\x02 kms \x7f",
        "🙂" * 500,
        "k" * 10_000,
        "kill myself " * 900,
        "\u202ekms\u202c",
        "\ufeff\u200b\u200c\u200d",
        "1" * 5000,
        "s . u . i",
        "'''''",
    ],
)
def test_scan_never_raises_on_weird_input(text: str) -> None:
    d = scan(text)
    assert d.lexicon_version == LEXICON_VERSION
    for m in d.matches:
        assert 0 <= m.start < m.end <= len(text)


def test_scan_survives_random_strings() -> None:
    rng = random.Random(1234)
    alphabet = "abcdeiklmosuy 013457@$!|.-_*'’\u200b\u0301ñéÍ😂\ud800\x00ßﬁ\u202eкілл"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        d = scan(text)
        for m in d.matches:
            assert 0 <= m.start < m.end <= len(text)


def test_scan_is_deterministic_and_shares_no_state() -> None:
    first = scan("i want to die")
    scan("completely unrelated message")
    assert scan("i want to die") == first
