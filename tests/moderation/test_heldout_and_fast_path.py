"""The held-out set, and the clean-message fast path never seeing less than the full one.

``heldout_set.jsonl`` was written fresh, without looking at the lexicon, after the eval
set had been used to tune it; messages that repeat an eval message (as typed, or once
normalised) were dropped, leaving 282. Its first run, on lexicon 2025.06.1, is the honest
figure: recall high 59.8% (49/82), medium 61.0% (36/59), low 56.2% (18/32), false alarms
10.1% (11/109). The lexicon was then extended for the gaps it showed (2025.06.2), so from
here on this is a regression set, not an unbiased estimate: the next honest number needs
a new set written by someone who has not seen the lexicon.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from moderation import Detector, load_lexicon, scan
from moderation.evaluate import evaluate, load_cases
from moderation.normalize import LETTER_RUNS, quick_form, variants

HERE = Path(__file__).parent
HELDOUT = HERE / "heldout_set.jsonl"
EVAL = HERE / "eval_set.jsonl"


def test_heldout_set_meets_the_product_thresholds() -> None:
    report = evaluate(load_cases(HELDOUT))
    assert report.recall["high"] == 1.0, [o.case.text for o in report.misses() if o.case.expected == "high"]
    assert report.recall["medium"] >= 0.90
    assert report.false_alarm_rate <= 0.03, [o.case.text for o in report.misses() if o.case.expected == "none"]


def test_heldout_set_has_the_promised_composition() -> None:
    cases = load_cases(HELDOUT)
    assert len(cases) >= 200
    labels = Counter(c.expected for c in cases)
    assert all(labels[t] >= 25 for t in ("high", "medium", "low", "none"))
    assert {c.lang for c in cases} == {"en", "es"}
    kinds = {c.kind for c in cases}
    assert {"obfuscated", "idiom", "negated", "past_resolved", "resource"} <= kinds
    eval_texts = {json.loads(line)["text"] for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert not eval_texts.intersection(c.text for c in cases), "held-out messages must not repeat the eval set"


def _corpus(seed: int, n: int) -> list[str]:
    texts = [c.text for path in (EVAL, HELDOUT) for c in load_cases(path)]
    rng = random.Random(seed)
    alphabets = [
        "abcdeilkmosty 1345!@$|.-_*'’ÁéñüßЁкіI\u200b😂\t\n  ",
        "abcdeilkmosty  .'!?,I*",
        "aeiklmnostuy 0123456789@$|!.,-' ",
        "aelkst  \u00e1\u00e9😊·•/~+",
    ]
    words = (
        "i im want to kill myself die k1ll kiIl k*ll kms going gonna not never lol i'm don't k i l l s.u.i.c.i.d.e "
        "killlll diiie sooo me quiero morir matar pastillas 988 3pm 2nd today!! @ $ ! | . , - ’ é ñ ¿ 😂 \u200b"
    ).split() + [" ", "  "]
    for _ in range(n):
        alphabet = rng.choice(alphabets)
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))))
    return texts


@pytest.mark.parametrize("seed", [1, 2])
def test_quick_form_is_the_normalised_text_whenever_it_answers(seed: int) -> None:
    for text in _corpus(seed, 4000):
        quick = quick_form(text)
        if quick is None or any(run in quick for run in LETTER_RUNS):
            continue  # the full pipeline (or the squeeze step) takes over
        readings = variants(text)
        assert len(readings) == 1, text
        assert readings[0].text.strip() == quick, text


@pytest.mark.parametrize("seed", [3, 4])
def test_fast_path_verdicts_equal_the_full_pipeline(seed: int) -> None:
    detector = Detector(load_lexicon())
    for text in _corpus(seed, 4000):
        assert detector.scan(text) == detector._scan_full(text), text


@pytest.mark.parametrize(
    ("text", "typed", "severity"),
    [
        ("i want to kiIl myself", "want to kiIl myself", "high"),
        ("going to kiII myseIf tonight", "going to kiII myseIf", "high"),
        ("I'm going to k*ll myself", "I'm going to k*ll myself", "high"),
        ("i just want to d*e", "i just want to d*e", "medium"),
    ],
)
def test_capital_i_for_l_and_censoring_asterisks_are_read_through(text: str, typed: str, severity: str) -> None:
    detection = scan(text)
    assert detection.severity == severity
    assert typed in {text[m.start : m.end] for m in detection.matches}


@pytest.mark.parametrize("text", ["It is Ice cream time", "I love my iPhone", "McIntyre runs group", "5 * 3 = 15"])
def test_those_readings_do_not_invent_hits(text: str) -> None:
    assert not scan(text).flagged


def test_clean_everyday_messages_take_the_fast_path() -> None:
    for text in [
        "anyone want to grab coffee after group on thursday? I'm buying",
        "see you all at 6pm, 2nd week in a row!!",
        "¿a qué hora es el grupo mañana? 😊",
        "ugh sooo tired today",
    ]:
        assert quick_form(text) is not None, text
        assert not scan(text).flagged
