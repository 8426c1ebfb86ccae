"""The pure parts of the semantic layer: how a model score joins a lexicon verdict, and
the n-gram features. No model is loaded here."""

from __future__ import annotations

from moderation import scan
from moderation.detection import Detection
from moderation.semantic import ngrams
from moderation.semantic.combine import combine, strongest
from moderation.semantic.model import ModelScore

CLEAN = Detection(None, (), (), "v1")


def score(severity: str | None, category: str = "suicide", risk: float = 0.9) -> ModelScore:
    return ModelScore(risk=risk, high=risk if severity == "high" else 0.1, severity=severity, category=category)


def test_a_model_flag_with_no_keyword_says_so() -> None:
    verdict = combine(CLEAN, score("medium", "suicide", 0.71), "m1")
    assert verdict.severity == "medium" and verdict.source == "model"
    assert verdict.matches == () and verdict.categories == ("suicide",)
    assert verdict.score == 0.71 and verdict.model_version == "m1"


def test_the_model_never_weakens_the_lexicon() -> None:
    lexical = scan("I want to kill myself tonight")
    assert lexical.severity == "high"
    verdict = combine(lexical, score(None, risk=0.01))
    assert verdict.severity == "high" and verdict.matches == lexical.matches and verdict.source == "lexicon"


def test_the_model_may_raise_a_low_lexicon_hit() -> None:
    lexical = scan("craving a drink so bad")
    assert lexical.severity == "low"
    verdict = combine(lexical, score("high", "suicide"))
    assert verdict.severity == "high" and verdict.matches == lexical.matches
    assert set(verdict.categories) == {*lexical.categories, "suicide"}


def test_a_clean_model_score_leaves_a_clean_message_clean() -> None:
    assert combine(CLEAN, score(None, risk=0.2)) is CLEAN


def test_the_strongest_verdict_wins_and_a_tie_prefers_the_lexicon() -> None:
    model = combine(CLEAN, score("medium"))
    lexical = scan("i want to die")
    assert lexical.severity == "medium"
    assert strongest([model, lexical]) is lexical
    assert strongest([CLEAN, model]) is model


def test_ngram_features_are_stable_and_normalised() -> None:
    a = ngrams.features("Sooooo tired of all this")
    b = ngrams.features("soo tired of all this")
    assert a == b  # runs squeezed, case folded
    assert abs(sum(v * v for v in a.values()) - 1.0) < 1e-9
    assert ngrams.features("") == {}
    assert ngrams.canonical("Ésta  VEZ") == "esta vez"
