"""The trained semantic model: an artifact on disk and the scores it gives a batch.

Two heads score each message: logistic regression on sentence embeddings (meaning,
across phrasings and languages) and logistic regression on hashed character n-grams
(spelling, slang, obfuscation). Their class probabilities are averaged with a weight
chosen by cross-validation. A third head names the category. The thresholds were chosen
on out-of-fold predictions on the training corpus at a stated false-alarm level (see
`train.py`), never on the blind set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..detection import CATEGORIES
from . import ngrams
from .corpus import LABELS
from .embedder import Embedder

ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "model"
ARTIFACT_JSON = ARTIFACT_DIR / "semantic.json"
ARTIFACT_WEIGHTS = ARTIFACT_DIR / "semantic.npz"
_HIGH = LABELS.index("high")
_MEDIUM = LABELS.index("medium")


@dataclass(frozen=True, slots=True)
class ModelScore:
    """The model's opinion of one text: P(medium or high), P(high), its verdict, category."""

    risk: float
    high: float
    severity: str | None
    category: str


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SemanticModel:
    version: str
    meta: dict[str, object]
    embed_coef: np.ndarray  # (classes, dim)
    embed_bias: np.ndarray
    ngram_coef: np.ndarray  # (BUCKETS, classes)
    ngram_bias: np.ndarray
    category_coef: np.ndarray  # (categories, dim + ...)
    category_bias: np.ndarray
    embed_weight: float
    threshold_risk: float
    threshold_high: float
    threshold_triage: float

    @classmethod
    def load(cls, json_path: Path = ARTIFACT_JSON, weights_path: Path = ARTIFACT_WEIGHTS) -> SemanticModel:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        with np.load(weights_path) as w:
            arrays = {k: w[k].astype(np.float32) for k in w.files}
        return cls(
            version=str(meta["version"]),
            meta=meta,
            embed_coef=arrays["embed_coef"],
            embed_bias=arrays["embed_bias"],
            ngram_coef=arrays["ngram_coef"],
            ngram_bias=arrays["ngram_bias"],
            category_coef=arrays["category_coef"],
            category_bias=arrays["category_bias"],
            embed_weight=float(meta["embed_weight"]),
            threshold_risk=float(meta["thresholds"]["risk"]),
            threshold_high=float(meta["thresholds"]["high"]),
            threshold_triage=float(meta["thresholds"]["triage"]),
        )

    def probabilities(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(n, 4) class probabilities over LABELS, the two heads blended."""
        p_embed = _softmax(embeddings @ self.embed_coef.T + self.embed_bias)
        p_ngram = _softmax(ngrams.sparse_dot(texts, self.ngram_coef) + self.ngram_bias)
        return self.embed_weight * p_embed + (1.0 - self.embed_weight) * p_ngram

    def cheap_risk(self, texts: Sequence[str]) -> np.ndarray:
        """P(medium or high) from the n-gram head alone: no embedding, tens of microseconds."""
        p = _softmax(ngrams.sparse_dot(texts, self.ngram_coef) + self.ngram_bias)
        return p[:, _MEDIUM] + p[:, _HIGH]

    def score(self, embeddings: np.ndarray, texts: Sequence[str]) -> list[ModelScore]:
        probs = self.probabilities(embeddings, texts)
        cats = embeddings @ self.category_coef.T + self.category_bias
        scores = []
        for row, cat in zip(probs, cats, strict=True):
            risk, high = float(row[_MEDIUM] + row[_HIGH]), float(row[_HIGH])
            severity = "high" if high >= self.threshold_high else "medium" if risk >= self.threshold_risk else None
            scores.append(ModelScore(risk, high, severity, CATEGORIES[int(np.argmax(cat))]))
        return scores


class Scorer:
    """An embedder and a model together: texts in, scores out (synchronous, batched)."""

    def __init__(self, embedder: Embedder, model: SemanticModel) -> None:
        self.embedder = embedder
        self.model = model

    def score(self, texts: Sequence[str]) -> list[ModelScore]:
        return self.model.score(self.embedder.embed(texts), texts)
