"""The trained semantic model: its artifact, its data, and its figures on the blind set.

The blind-set floors below are the figures of the first run on that set (release
semantic-c545787fea, measured once, never tuned on; see moderation/data/blind/README.md),
rounded down. A change that lowers them fails here. A model trained on new data must be
measured on a NEW blind set, and these floors replaced by its first figures.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from moderation import CATEGORIES, load_semantic, scan
from moderation.semantic.corpus import BLIND_FILE, fingerprint, load, load_training
from moderation.semantic.model import ARTIFACT_JSON
from moderation.semantic.report import figures

BLIND_FLOORS = {"recall_high_any": 0.94, "recall_high_as_high": 0.87, "recall_medium": 0.74}
BLIND_FALSE_ALARMS_CEILING = 0.133


@pytest.fixture(scope="module")
def semantic():  # type: ignore[no-untyped-def]
    return load_semantic(threads=2)


def test_the_artifact_was_trained_on_the_data_in_the_repository() -> None:
    meta = json.loads(ARTIFACT_JSON.read_text())
    assert meta["data_sha256"] == fingerprint(), "training data changed: run `python -m moderation train`"
    assert meta["version"] == f"semantic-{meta['data_sha256'][:10]}"


def test_the_corpus_is_big_enough_and_every_category_is_in_both_sets() -> None:
    train, blind = load_training(), load(BLIND_FILE)
    assert len(train) >= 4000 and len(blind) >= 800
    assert sum(e.severity == "none" for e in train) >= 1500
    for examples in (train, blind):
        risky = Counter(e.category for e in examples if e.severity in ("high", "medium"))
        assert set(risky) == set(CATEGORIES)
        assert Counter(e.lang for e in examples).keys() >= {"en", "es"}


def test_no_blind_message_is_in_the_training_set() -> None:
    train_texts = {e.text.casefold() for e in load_training()}
    assert not [e.text for e in load(BLIND_FILE) if e.text.casefold() in train_texts]


def test_blind_set_figures_hold(semantic) -> None:  # type: ignore[no-untyped-def]
    blind = load(BLIND_FILE)
    verdicts = []
    for start in range(0, len(blind), 64):
        verdicts += semantic.detect([e.text for e in blind[start : start + 64]])
    measured = figures(blind, verdicts).as_dict()
    for key, floor in BLIND_FLOORS.items():
        assert measured[key] >= floor, f"{key} fell to {measured[key]} (floor {floor})"
    assert measured["false_alarms"] <= BLIND_FALSE_ALARMS_CEILING


def test_detect_agrees_with_scan_whenever_the_lexicon_fires(semantic) -> None:  # type: ignore[no-untyped-def]
    texts = [json.loads(line)["text"] for line in open("tests/moderation/heldout_set.jsonl", encoding="utf-8")]
    fired = [t for t in texts if scan(t).flagged][:96]
    assert len(fired) >= 64
    from moderation.detection import severity_rank

    for text, verdict in zip(fired, semantic.detect(fired), strict=True):
        lexical = scan(text)
        assert verdict.matches == lexical.matches and verdict.source == "lexicon"
        assert severity_rank(verdict.severity) >= severity_rank(lexical.severity)
        assert set(lexical.categories) <= set(verdict.categories)


def test_a_model_flag_explains_itself(semantic) -> None:  # type: ignore[no-untyped-def]
    text = "honestly it would be easier if i just didn't wake up tomorrow, everyone would move on"
    assert not scan(text).flagged
    (verdict,) = semantic.detect([text])
    assert verdict.source == "model" and verdict.matches == () and verdict.categories == ("suicide",)
    assert verdict.severity in ("medium", "high") and verdict.score is not None and verdict.model_version
